"""Channels for portfolio simulations: a dialer whose outcome a behaviour model decides,
and a message sink that accepts everything and counts it. They sit behind the conduct
gate exactly as the real channels do."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from mobilend.app.collections.channels import CallRequest, CallResult
from mobilend.app.messaging import DeliveryAck, OutgoingMessage


class SimulatedDialer:
    """``answer(call_id, phone)`` returns connected / no_answer / busy."""

    def __init__(self, answer: Callable[[str, str], str]) -> None:
        self._answer = answer
        self.placed = Counter[str]()
        self._lock = threading.Lock()

    def place_call(self, request: CallRequest) -> CallResult:
        status = self._answer(request.call_id, request.phone)
        with self._lock:
            self.placed[status] += 1
        if status == "connected":
            return CallResult(status, f"rec-{request.call_id}", 120)
        return CallResult(status)


class MessageSink:
    """Counts what it accepts by channel, and keeps each number's latest text message (a
    simulated phone reads its sign-in code there)."""

    def __init__(self) -> None:
        self.sent = Counter[str]()
        self.latest_sms: dict[str, str] = {}
        self._lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> DeliveryAck:
        with self._lock:
            self.sent[message.channel] += 1
            if message.channel == "sms":
                self.latest_sms[message.recipient] = message.body
        return DeliveryAck(True, f"sim-{message.message_id}")
