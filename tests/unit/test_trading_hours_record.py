"""A `POST /api/risk` with trading hours (D22) must be storable as its audit record: Firestore holds no array in an
array, so the record keeps each day's spans flat, and replay reads them back as pairs."""

from shared.domain.engine import audit_record
from shared.domain.inputs import SetRisk, input_from_dict


def nested(value: object, inside: bool = False) -> bool:
    """Whether `value` holds an array directly inside an array (what Firestore cannot store)."""
    if isinstance(value, list):
        return inside or any(nested(v, True) for v in value)
    if isinstance(value, dict):
        return any(nested(v, False) for v in value.values())
    return False


def test_the_audit_record_of_trading_hours_holds_no_array_in_an_array_and_reads_back() -> None:
    cmd = SetRisk(trading_hours={"MON": ((570, 960), (1000, 1100)), "TUE": ()})
    data = cmd.model_dump(mode="json")
    assert data["trading_hours"] == {"MON": [570, 960, 1000, 1100], "TUE": []}

    assert not nested(data)
    back = input_from_dict(data)
    assert isinstance(back, SetRisk)
    assert back.trading_hours == {"MON": ((570, 960), (1000, 1100)), "TUE": ()}
    assert SetRisk(trading_hours={"MON": [[570, 960]]}).trading_hours == {"MON": ((570, 960),)}
    assert audit_record  # the record builds the input with model_dump(mode="json"), as above


def test_an_idempotency_record_keeps_an_answer_with_an_array_in_an_array() -> None:
    from shared.service.idempotency import IdempotencyKey, record, stored_body

    body = {"ok": True, "trading_hours": {"MON": [["09:30", "16:00"]]}}
    rec = record(IdempotencyKey("POST /api/risk", "k1"), 1.0, "r1", 200, None, body, True)

    assert not nested({k: v for k, v in rec.items() if k != "expire_at"})
    assert stored_body(rec) == body
    assert stored_body({"body": {"ok": True}}) == {"ok": True}, "a record written before keeps answering"
