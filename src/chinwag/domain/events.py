"""Twilio Chat's webhook event names (shared/behaviour.md section 2)."""

from __future__ import annotations

PRE_EVENTS = (
    "onMessageSend",
    "onMessageUpdate",
    "onMessageRemove",
    "onMediaMessageSend",
    "onChannelAdd",
    "onChannelUpdate",
    "onChannelDestroy",
    "onMemberAdd",
    "onMemberUpdate",
    "onMemberRemove",
    "onUserUpdate",
)
POST_EVENTS = (
    "onMessageSent",
    "onMessageUpdated",
    "onMessageRemoved",
    "onMediaMessageSent",
    "onChannelAdded",
    "onChannelUpdated",
    "onChannelDestroyed",
    "onMemberAdded",
    "onMemberUpdated",
    "onMemberRemoved",
    "onUserAdded",
    "onUserUpdated",
)
EVENTS = PRE_EVENTS + POST_EVENTS

# v1's legacy per-event targets, `Webhooks.<Event>.Url/Method`, in the spec's order.
V1_EVENT_TARGETS = (
    "OnMessageSend",
    "OnMessageUpdate",
    "OnMessageRemove",
    "OnChannelAdd",
    "OnChannelDestroy",
    "OnChannelUpdate",
    "OnMemberAdd",
    "OnMemberRemove",
    "OnMessageSent",
    "OnMessageUpdated",
    "OnMessageRemoved",
    "OnChannelAdded",
    "OnChannelDestroyed",
    "OnChannelUpdated",
    "OnMemberAdded",
    "OnMemberRemoved",
)
