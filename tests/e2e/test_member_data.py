"""Tiers, import/export and personal-data rights through the gateway, across the real services."""
import csv
import io

from .conftest import auth, eventually


def member_id_of(api, shop, phone):
    def found():
        members = api.get(f"/shops/{shop['shop_id']}/members", params={"phone": phone},
                          headers=auth(shop["staff"], False)).json()["members"]
        return members[0]["member_id"] if members else None
    return eventually(found)


def test_a_sale_that_crosses_a_threshold_moves_the_member_up_and_says_why(api, shop):
    base = f"/shops/{shop['shop_id']}"
    bad = api.put(f"{base}/tier-settings", headers=auth(shop["admin"], False), json={
        "tiers": [{"name": f"T{i}", "threshold": i * 100} for i in range(1, 7)],
        "window_months": 1, "downgrade": {"mode": "cycle", "cycle": "monthly"}})
    assert bad.status_code == 422 and "tiers" in bad.json()["error"]["fields"], bad.text
    settings = api.put(f"{base}/tier-settings", headers=auth(shop["admin"], False), json={
        "tiers": [{"name": "Basic", "threshold": 10}, {"name": "Gold", "threshold": 40}],
        "window_months": 1, "downgrade": {"mode": "cycle", "cycle": "monthly"}})
    assert settings.status_code == 200, settings.text
    for receipt, amount in (("T-1", "300"), ("T-2", "800")):  # 12 points, then 32 more: 44
        sale = api.post(f"{base}/sales", headers=auth(shop["staff"]),
                        json={"phone": "0871112222", "amount": amount, "receipt_no": receipt})
        assert sale.status_code == 201, sale.text
    member_id = member_id_of(api, shop, "0871112222")

    def gold():
        tier = api.get(f"{base}/members/{member_id}/tier", headers=auth(shop["staff"], False)).json()
        return tier if tier["tier"] and tier["tier"]["name"] == "Gold" else None

    tier = eventually(gold)
    assert tier["window_points"] == 44 and tier["decision"]["reason"] == "upgrade"
    history = api.get(f"{base}/members/{member_id}/tier-history", headers=auth(shop["staff"], False)).json()
    newest = history["decisions"][0]  # (two decisions, or one when both sales arrived in one batch)
    assert (newest["to_tier"], newest["window_points"]) == ("Gold", 44)
    found = api.get(f"{base}/members", params={"tier": "Gold"}, headers=auth(shop["staff"], False)).json()
    assert [m["member_id"] for m in found["members"]] == [member_id]


def test_an_import_reports_bad_rows_credits_points_once_and_the_export_has_them(api, shop):
    base = f"/shops/{shop['shop_id']}"
    template = api.get(f"{base}/members/import-template", headers=auth(shop["admin"], False))
    assert template.status_code == 200 and template.text.lstrip("\ufeff").startswith("phone")
    body = (b"phone,name,points,gender,birthday,email,tags\n"
            b"0881000001,Anan,120,male,1990-01-31,anan@example.com,vip|coffee\n"
            b"12345,Bad Phone,5,,,,\n"
            b"0881000002,Busaba,-3,female,,,\n"
            b"0881000003,Chai,0,,31/12/1985,,\n")
    params = {"branch_id": shop["branch_id"], "filename": "members.csv"}
    report = api.post(f"{base}/members/imports", params=params, content=body,
                      headers={**auth(shop["admin"], False), "Content-Type": "text/csv"})
    assert report.status_code == 200, report.text
    result = report.json()
    assert (result["status"], result["imported"], result["rejected"]) == ("done", 2, 2)
    assert {(e["row"], e["column"]) for e in result["errors"]} == {(3, "phone"), (4, "points")}
    again = api.post(f"{base}/members/imports", params=params, content=body,
                     headers={**auth(shop["admin"], False), "Content-Type": "text/csv"})
    assert again.json()["replayed"] is True and again.json()["import_id"] == result["import_id"]

    def credited():
        view = api.get(f"{base}/members/by-phone/0881000001", headers=auth(shop["staff"], False)).json()
        return view["points"]["balance"] == 120
    eventually(credited)
    wrong = api.post(f"{base}/members/imports", params=params, content=b"telephone,name\n0881000009,X\n",
                     headers={**auth(shop["admin"], False), "Content-Type": "text/csv"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "import_wrong_columns", wrong.text

    exported = api.get(f"{base}/members/export", params={"format": "csv"}, headers=auth(shop["admin"], False))
    assert exported.status_code == 200, exported.text
    rows = {r["phone"]: r for r in csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff")))}
    assert rows["+66881000001"]["name"] == "Anan" and rows["+66881000001"]["status"] == "imported"
    assert "vip" in rows["+66881000001"]["tags"]


def test_an_erased_member_is_gone_everywhere_but_the_ledger_still_adds_up(api, shop):
    base = f"/shops/{shop['shop_id']}"
    sale = api.post(f"{base}/sales", headers=auth(shop["staff"]),
                    json={"phone": "0891234000", "amount": "500", "receipt_no": "E-1"})
    assert sale.status_code == 201, sale.text
    member_id = member_id_of(api, shop, "0891234000")
    export = api.get(f"{base}/members/{member_id}/data-export", headers=auth(shop["admin"], False))
    assert export.status_code == 200, export.text
    assert export.json()["points"] and export.json()["members"]
    erased = api.post(f"{base}/members/{member_id}/erasure", headers=auth(shop["admin"]))
    assert erased.status_code == 200, erased.text
    assert erased.json()["pseudonym"] == f"erased:{member_id}"

    def gone():
        view = api.get(f"{base}/members/by-phone/0891234000", headers=auth(shop["staff"], False))
        return view.status_code == 404
    eventually(gone)
    profile = api.get(f"{base}/members/{member_id}", headers=auth(shop["admin"], False)).json()
    assert profile["status"] == "erased" and profile["name"] is None


def test_bad_tier_settings_and_bad_import_files_get_clear_errors(api, shop):
    base = f"/shops/{shop['shop_id']}"
    overlapping = api.put(f"{base}/tier-settings", headers=auth(shop["admin"], False), json={
        "tiers": [{"name": "Basic", "threshold": 500, "max_points": 1200}, {"name": "Gold", "threshold": 1000}],
        "window_months": 1, "downgrade": {"mode": "cycle", "cycle": "monthly"}})
    assert overlapping.status_code == 422 and "tiers.0.max_points" in overlapping.json()["error"]["fields"]
    unordered = api.put(f"{base}/tier-settings", headers=auth(shop["admin"], False), json={
        "tiers": [{"name": "Gold", "threshold": 1000}, {"name": "Basic", "threshold": 500}],
        "window_months": 1, "downgrade": {"mode": "cycle", "cycle": "monthly"}})
    assert unordered.status_code == 422 and "tiers.1.threshold" in unordered.json()["error"]["fields"]

    def upload(content, content_type="text/csv"):
        return api.post(f"{base}/members/imports", params={"branch_id": shop["branch_id"]}, content=content,
                        headers={**auth(shop["admin"], False), "Content-Type": content_type})

    by_staff = api.post(f"{base}/members/imports", content=b"phone,points\n0881000001,1000000\n",
                        headers={**auth(shop["staff"], False), "Content-Type": "text/csv"})
    assert by_staff.status_code == 403, by_staff.text  # an import credits points: admins only
    for content, code in [
        ("phone,name\n0881000001,สมชาย\n".encode("tis-620"), "import_not_utf8"),
        (b"", "import_file_empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "import_not_a_spreadsheet"),
    ]:
        reply = upload(content)
        assert reply.status_code == 422 and reply.json()["error"]["code"] == code, (code, reply.text)
