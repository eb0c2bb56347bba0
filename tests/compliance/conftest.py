"""Fixtures for the compliance tests: a service key, two BLS witnesses, a witnessed log.

BLS is slow in py_ecc (about 0.1 s to sign, 0.3 s to verify), so the
witnesses are made once per session and cosign only two checkpoints.
"""

from __future__ import annotations

import pytest
from compliance_logs import SyntheticLog, Witnesses, make_log

from compliance.witness import RegisteredWitness, WitnessKey
from crypto import sm2


@pytest.fixture(scope="session")
def witnesses() -> Witnesses:
    """Two registered witnesses (keys made once: PopProve costs ~0.1 s each)."""
    keys = {"w-alpha": WitnessKey.generate(), "w-beta": WitnessKey.generate()}
    registered = [
        RegisteredWitness(
            id=wid, name=f"Witness {wid[2:]}", public_key=k.public_key, pop=k.proof_of_possession()
        )
        for wid, k in keys.items()
    ]
    return Witnesses(keys, registered)


@pytest.fixture(scope="session")
def service_key() -> sm2.PrivateKey:
    return sm2.PrivateKey.generate()


@pytest.fixture(scope="session")
def witnessed_log(service_key: sm2.PrivateKey, witnesses: Witnesses) -> SyntheticLog:
    """Three checkpoints; the middle one (fake-)anchored; it and the latest cosigned by both."""
    log = make_log("acme", key=service_key)
    log.witnesses = list(witnesses.registered)
    log.set_anchor(1, log.fake_anchor(1))
    both = list(witnesses.keys.items())
    log.cosign(1, both)
    log.cosign(2, both)
    return log


@pytest.fixture(scope="session")
def good_bundle(witnessed_log: SyntheticLog) -> bytes:
    return witnessed_log.bundle()


@pytest.fixture(scope="session")
def filtered_bundle(witnessed_log: SyntheticLog) -> bytes:
    """Nine entries in ten: every file, the multiproof too, has content to tamper with."""
    return witnessed_log.bundle([seq for seq in range(237) if seq % 10 != 3])
