#!/usr/bin/env python3
"""Writes the CBOR fixtures of this directory with python `cbor2` (pip install cbor2), an encoder
independent of the crate's: `cbor2.dumps(..., canonical=True)` sorts map keys and picks the
shortest integer and float forms (RFC 8949 section 4.2.1).
Run from this directory: python3 make_fixtures.py

tests/fixtures.rs checks that every positive fixture decodes to the value built in
tests/common/mod.rs and that the crate re-encodes it to exactly these bytes, and that every
negative fixture is refused with the error its name says. Keep the values here and there equal.
"""
import math

import cbor2

V, KIND = 0, 1
JOB, EXECUTION, REPORT = 1, 2, 3


def canon(obj):
    return cbor2.dumps(obj, canonical=True)


def digest(b):
    return bytes([b]) * 32


def sample_job():
    return {
        V: 1,
        KIND: JOB,
        2: "lock-fw-2_0_0",
        3: "lock-2.0.0",
        4: 1,
        5: bytes([0xD2, 0x84, 0x43, 0xA1, 0x01, 0x27]),
        6: [
            {
                0: "lock-fw",
                1: "https://updates.example/lock-fw/2.0.0.bin",
                2: [
                    {0: digest(0x11), 1: "https://updates.example/lock-fw/1.4.2-2.0.0.delta"},
                    {0: digest(0x22), 1: "https://updates.example/lock-fw/1.4.1-2.0.0.delta"},
                ],
            },
            {0: "door-app", 1: "https://updates.example/door-app/3.1.0.tar"},
        ],
        7: {0: True, 1: [22 * 60, 4 * 60], 2: 1_767_225_600, 3: 1_767_830_400},
    }


def minimal_job():
    return {
        V: 1,
        KIND: JOB,
        2: "j1",
        3: "r",
        4: 0,
        5: {0: "https://updates.example/release.cose", 1: 1843, 2: digest(0xAB)},
        7: {0: False},
    }


def execution(status, **fields):
    m = {V: 1, KIND: EXECUTION, 2: "lock-fw-2_0_0", 3: 1, 4: 3, 5: status}
    m.update(fields)
    return m


QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT, REJECTED, REMOVED, CANCELED = range(8)
DOWNLOAD, VERIFY, DECIDE, INSTALL, TRIAL, COMMIT = range(1, 7)
HEALTH_CHECK_FAILED = 8


def exec_failed():
    return execution(FAILED, **{"6": TRIAL, "8": HEALTH_CHECK_FAILED, "9": True,
                                "10": "door sensor did not answer within 30 s"})


def fix(m):
    """Keyword arguments are strings: turn them back into integer keys."""
    return {int(k) if isinstance(k, str) else k: v for k, v in m.items()}


def sample_report():
    return {
        V: 1,
        KIND: REPORT,
        2: 9_000_000_001,
        3: 1_767_000_000,
        4: [
            {0: "lock-fw", 1: "2.0.0", 2: digest(0x33)},
            {0: "door-app", 1: "3.1.0"},
        ],
        5: 1,
        6: 214,
        7: 1,
        8: 86_400,
        9: {"temp_c": 41.5, "free_heap": 18_432.0, "rssi": -67.0, "crashes": 0.0},
    }


POSITIVE = {
    "job_full": sample_job(),
    "job_minimal": minimal_job(),
    "execution_queued": execution(QUEUED),
    "execution_in_progress": execution(IN_PROGRESS, **{"6": DOWNLOAD, "7": [65_536, 1_048_576]}),
    "execution_succeeded": execution(SUCCEEDED),
    "execution_failed": exec_failed(),
    "execution_timed_out": execution(TIMED_OUT),
    "execution_rejected": execution(REJECTED, **{"11": {0: [4, "rev-C"], 1: "lock-fw"}}),
    "execution_removed": execution(REMOVED),
    "execution_canceled": execution(CANCELED),
    "report": sample_report(),
}


def negative():
    out = {}
    j = minimal_job()
    out["bad_version"] = canon({**j, V: 2})
    out["missing_version"] = canon({k: v for k, v in j.items() if k != V})
    out["unknown_kind"] = canon({**j, KIND: 9})
    out["unknown_key"] = canon({**j, 8: 0})
    out["negative_key"] = canon({**j, -1: 0})
    out["wrong_type"] = canon({**j, 4: "1"})
    out["bad_job_id"] = canon({**j, 2: "a/b"})
    out["long_job_id"] = canon({**j, 2: "a" * 65})
    out["empty_list"] = canon({**j, 6: []})
    out["no_source"] = canon({**j, 6: [{0: "fw"}]})
    out["bad_window"] = canon({**j, 7: {0: False, 1: [60, 60]}})
    out["short_digest"] = canon({**j, 5: {0: "https://x.example/r", 1: 1, 2: bytes(31)}})
    out["too_many_components"] = canon(
        {**j, 6: [{0: f"c{i}", 1: "https://x.example/i"} for i in range(65)]})
    # 2^32 - 1 images declared in a few bytes: the limit is reported, nothing is allocated.
    head = canon({**j, 6: [{0: "c", 1: "u"}]})
    marker = bytes([0x06, 0x81])
    assert head.count(marker) == 1
    out["huge_count"] = head.split(marker)[0] + bytes([0x06, 0x9A, 0xFF, 0xFF, 0xFF, 0xFF])
    big = canon({**j, 4: 0x1234567})
    assert big.count(bytes([0x1A, 0x01, 0x23, 0x45, 0x67])) == 1
    out["non_shortest_int"] = big.replace(bytes([0x1A, 0x01, 0x23, 0x45, 0x67]),
                                          bytes([0x1B, 0, 0, 0, 0, 0x01, 0x23, 0x45, 0x67]))
    plain = canon(j)
    assert plain[0] == 0xA7
    out["indefinite_length"] = bytes([0xBF]) + plain[1:] + bytes([0xFF])
    # cbor2 without canonical=True keeps insertion order: the body's keys reversed are unsorted
    # (the version and kind stay first, where a reader of any version looks for them).
    body = [(k, v) for k, v in j.items() if k not in (V, KIND)]
    out["unsorted_keys"] = cbor2.dumps(dict([(V, 1), (KIND, JOB)] + list(reversed(body))))
    out["trailing_bytes"] = plain + b"\x00"
    out["truncated"] = plain[:-1]

    x = exec_failed()
    out["failed_with_progress"] = canon(fix({**x, "7": [1, 2]}))
    out["failed_without_reason"] = canon({k: v for k, v in fix(x).items() if k != 8})
    out["failed_reason_refused"] = canon(fix({**x, "8": 7}))
    out["unknown_status"] = canon(execution(8))
    out["progress_over_total"] = canon(fix(execution(IN_PROGRESS, **{"6": DOWNLOAD, "7": [3, 2]})))
    out["unknown_rule"] = canon(fix(execution(REJECTED, **{"11": {0: [99]}})))
    out["rule_wrong_length"] = canon(fix(execution(REJECTED, **{"11": {0: [4]}})))

    r = sample_report()
    # cbor2 writes floats as doubles unless canonical: 41.5 fits a half.
    out["float_not_shortest"] = cbor2.dumps({**r, 9: {"rssi": 41.5}})
    out["float_where_int"] = canon({**r, 6: 214.5})
    out["nan_metric"] = canon({**r, 9: {"rssi": math.nan}})
    out["too_many_metrics"] = canon({**r, 9: {f"m{i}": 1.0 for i in range(65)}})
    out["duplicate_installed"] = canon({**r, 4: [{0: "a", 1: "1"}, {0: "a", 1: "2"}]})
    out["bad_slot"] = canon({**r, 5: 2})
    return out


def main():
    for name, msg in POSITIVE.items():
        with open(f"{name}.cbor", "wb") as f:
            f.write(canon(fix(msg)))
    for name, data in negative().items():
        with open(f"neg_{name}.cbor", "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
