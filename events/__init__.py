"""Python side of Haven's event contract.

- ``events.types``: the data models of every event type (one module per family)
- ``events.envelope``: the CloudEvents 1.0 envelope and the typed ``Event``
- ``events.registry``: event type -> model, versions, schema URIs
- ``events.codec``: bytes <-> ``Event`` with the input checks in their order
- ``events.errors``: reject reasons and field paths (never personal values)
- ``events.upcasting``: old versions are read as the newest
- ``events.schemas``: the JSON Schemas committed under ``contracts/schemas``
- ``events.topics``: Kafka topic names
"""
