"""kafka-python checksums the record batches it produces in C (the ``crc32c`` package).

Its own checksum is pure Python (about 7 MB/s): the log's restore from the
archive, the notice and system-outbox relays and the publisher produce
through kafka-python, and would spend seconds per 40,000 records on it.
"""

from __future__ import annotations

import os

from kafka.record import util
from kafka.record._crc32c import crc as pure_python_crc32c


def test_kafka_python_checksums_record_batches_in_c() -> None:
    assert util.crc32c_c is not None, "the crc32c package is missing"
    data = os.urandom(4096)
    assert util.calc_crc32c(data) == pure_python_crc32c(data)
    assert util.calc_crc32c.__defaults__ == (util.crc32c_c,)
