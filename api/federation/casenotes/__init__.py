"""Case notes: what one unit learnt from a seizure, shared with partners over the federation.

A case note says what was found, where, the route, the concealment method and the parties
(optionally masked before signing), with free text and optionally a proposed rule (YAML).
It travels as a signed ``casenote`` envelope through the same outbox, receipts, replay
protection and audit as urgent queries. The receiving unit re-checks the rule with its own
loader, may backtest it on its own history, and adopts it into its pack in shadow
(``status: experimental``, with provenance) or declines; the decision goes back to the sender
as a signed ``decision`` message. Backtests and decisions need the rule_author role.
"""

from __future__ import annotations

from api.federation.casenotes.schemas import CaseNoteCreate, CaseNotePublic, CaseNoteSummary
from api.federation.casenotes.states import TRANSITIONS, summarise
from api.federation.casenotes.tables import FedCaseNote, FedCaseNoteBacktest, FedCaseNoteRecipient

__all__ = [
    "TRANSITIONS",
    "CaseNoteCreate",
    "CaseNotePublic",
    "CaseNoteSummary",
    "FedCaseNote",
    "FedCaseNoteBacktest",
    "FedCaseNoteRecipient",
    "summarise",
]
