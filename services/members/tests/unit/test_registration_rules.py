import datetime
import uuid

import pytest

from members import domain

Q1, Q2, Q3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
QUESTIONS = {
    Q1: {"kind": "single", "prompt": "Coffee?", "required": True,
         "choices": [{"value": "yes", "tag": "coffee"}, {"value": "no", "tag": None}]},
    Q2: {"kind": "multiple", "prompt": "Topics", "required": False,
         "choices": [{"value": "a", "tag": "ta"}, {"value": "b", "tag": "tb"}, {"value": "c"}]},
    Q3: {"kind": "text", "prompt": "Note", "required": False, "choices": []},
}


def test_answers_give_rows_and_the_tags_of_chosen_choices():
    rows, tags, errors = domain.check_answers(QUESTIONS, [
        {"question_id": Q1, "value": "yes"}, {"question_id": Q2, "values": ["a", "c"]},
        {"question_id": Q3, "value": "hello"}])
    assert errors == {} and tags == {"coffee", "ta"}
    assert rows == [(Q1, {"value": "yes"}), (Q2, {"values": ["a", "c"]}), (Q3, {"value": "hello"})]


@pytest.mark.parametrize("answers,field", [
    ([], "answers"),
    ([{"question_id": Q1, "value": "maybe"}], "answers.0"),
    ([{"question_id": Q1, "value": "yes"}, {"question_id": Q1, "value": "no"}], "answers.1"),
    ([{"question_id": Q1, "value": "yes"}, {"question_id": Q2, "values": ["a", "a"]}], "answers.1"),
    ([{"question_id": Q1, "value": "yes"}, {"question_id": Q2, "values": []}], "answers.1"),
    ([{"question_id": Q1, "value": "yes"}, {"question_id": Q3, "values": ["x"]}], "answers.1"),
    ([{"question_id": Q1, "value": "yes"}, {"question_id": uuid.uuid4(), "value": "x"}], "answers.1"),
])
def test_bad_answers_name_their_place(answers, field):
    _, _, errors = domain.check_answers(QUESTIONS, answers)
    assert field in errors


@pytest.mark.parametrize("tag,ok", [("vip", True), ("x", True), ("a,b", False), (" vip", False), ("", False),
                                    ("x" * 51, False), ("ลูกค้าประจำ", True)])
def test_tags(tag, ok):
    assert (domain.tag_problem(tag) is None) is ok


def test_birthdays_in_the_future_or_before_1900_are_refused():
    today = datetime.date(2026, 11, 27)
    assert domain.birthday_problem(datetime.date(2026, 11, 28), today)
    assert domain.birthday_problem(datetime.date(1899, 12, 31), today)
    assert domain.birthday_problem(datetime.date(1990, 4, 1), today) is None


def test_choice_rules():
    assert domain.choices_problem("text", [{"value": "a"}])
    assert domain.choices_problem("single", [{"value": "a"}])
    assert domain.choices_problem("multiple", [{"value": "a"}, {"value": "a"}])
    assert domain.choices_problem("single", [{"value": "a"}, {"value": "b"}]) is None


def test_profile_diff_lists_only_real_changes_with_dates_as_text():
    before = {"name": "A", "birthday": datetime.date(1990, 1, 1), "email": None}
    assert domain.profile_diff(before, {"name": "A", "birthday": datetime.date(1990, 1, 2), "email": "e@x.th"}) == {
        "birthday": ["1990-01-01", "1990-01-02"], "email": [None, "e@x.th"]}
