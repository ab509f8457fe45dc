"""Notifications: a shop's LINE and SMS channels, members' contacts, templates, the delivery log."""
from gateway import notifier_contracts as nc
from gateway.auth import ADMIN, INTERNAL, STAFF
from gateway.endpoints import endpoint

PHONE = {"phone": str}


class NotificationRoutes:
    @endpoint("PUT", "/shops/{shop_id}/notifications/channels",
              summary="The shop's LINE token, SMS provider, language and quiet hours", roles=(ADMIN,),
              request=nc.ChannelsBody, response=nc.Channels, tag="notifications")
    def save_channels(self, call, shop_id):
        """Secrets (the LINE token, SMS credentials) are stored and never shown again."""
        return self.notifier.call("save_channels", {"shop_id": shop_id, **call.body})

    @endpoint("GET", "/shops/{shop_id}/notifications/channels", summary="The shop's channels (no secrets)",
              roles=(ADMIN,), response=nc.Channels, tag="notifications")
    def get_channels(self, call, shop_id):
        return self.notifier.call("get_channels", {"shop_id": shop_id})

    @endpoint("PUT", "/shops/{shop_id}/members/by-phone/{phone}/contact",
              summary="How a member is reached: LINE user id, language, opt-outs", roles=(ADMIN, INTERNAL),
              request=nc.ContactBody, response=nc.Contact, path_types=PHONE, tag="notifications")
    def set_contact(self, call, shop_id, phone):
        return self.notifier.call("set_contact", {"shop_id": shop_id, "phone": phone, **call.body})

    @endpoint("PUT", "/shops/{shop_id}/notifications/templates/{trigger}/{language}",
              summary="The shop's text for a trigger and language", roles=(ADMIN,), request=nc.TemplateBody,
              response=nc.Template, path_types={"trigger": str, "language": str}, tag="notifications")
    def set_template(self, call, shop_id, trigger, language):
        """Triggers: points_earned, points_expiring, coupon_received, coupon_expiring, delivery_status,
        campaign; languages th, en. Fields in braces, only the trigger's own (422 otherwise)."""
        return self.notifier.call("set_template", {"shop_id": shop_id, "trigger": trigger, "language": language,
                                                   "body": call.body["body"]})

    @endpoint("POST", "/shops/{shop_id}/notifications/preview", summary="The text a trigger would send",
              roles=(ADMIN, STAFF), request=nc.PreviewBody, response=nc.Preview, tag="notifications")
    def preview(self, call, shop_id):
        return self.notifier.call("preview", {"shop_id": shop_id, **call.body})

    @endpoint("GET", "/shops/{shop_id}/notifications/messages",
              summary="The delivery log: by member, campaign or status, newest first", roles=(ADMIN, INTERNAL),
              query=nc.MessagesQuery, response=nc.MessageList, tag="notifications")
    def messages(self, call, shop_id):
        return self.notifier.call("messages", {"shop_id": shop_id, **call.query})

    @endpoint("POST", "/shops/{shop_id}/notifications/messages/{message_id}/resend",
              summary="Send a failed message again", roles=(ADMIN,), response=nc.Message, tag="notifications")
    def resend(self, call, shop_id, message_id):
        return self.notifier.call("resend", {"shop_id": shop_id, "message_id": message_id})

    @endpoint("POST", "/shops/{shop_id}/notifications/messages/{message_id}/delivery",
              summary="A provider's delivery report for a sent message", roles=(INTERNAL, ADMIN),
              request=nc.DeliveryReportBody, response=nc.Message, tag="notifications")
    def record_delivery(self, call, shop_id, message_id):
        """For the SMS webhook provider's callback (an internal-system key): delivered, or failed
        after all. Repeating a report changes nothing more; a message not sent yet is 409."""
        body = call.body
        return self.notifier.call("record_delivery", {
            "shop_id": shop_id, "message_id": message_id, "status": body["status"], "reason": body["reason"],
            "at": body["at"] and body["at"].isoformat()})
