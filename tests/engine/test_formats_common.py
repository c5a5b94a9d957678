"""The columns the message readers emit come from the catalogue, not from a copied list."""

from __future__ import annotations

from engine.formats._common import EMITTED, emitted_schema
from engine.schema import CANONICAL, LABEL_FIELDS, NOT_IN_MESSAGES


def test_emitted_fields_are_the_catalogue_but_labels_and_what_messages_lack() -> None:
    assert set(CANONICAL) >= NOT_IN_MESSAGES  # no misspelt name silently kept
    assert set(EMITTED) == set(CANONICAL) - set(LABEL_FIELDS) - NOT_IN_MESSAGES
    assert list(EMITTED) == [n for n in CANONICAL if n in EMITTED]  # catalogue order
    schema = emitted_schema(["extra"])
    assert list(schema) == [*EMITTED, "extra"]
    assert str(schema["filed_at"]) == "String" and schema["packages"] == CANONICAL["packages"].dtype
