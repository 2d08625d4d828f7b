"""Real venues, one package each, every one behind `brokers.adapters.VenueAdapter`.

    brokers/venues/<name>/
        client.py     the venue's HTTP API on httpx; base URLs from settings
        stream.py     its realtime connection (run by the venue-streams process,
                      never inside a Celery task)
        adapter.py    VenueAdapter: our orders, positions and reports <-> the client
        mapping.py    our instruments and enums <-> the venue's contracts and codes
        fake.py       a faithful fake server on loopback (the documented payloads,
                      enums, errors and rate limits, with knobs for latency,
                      errors and disconnects) that the tests start
        tests/        the client against the fake, and the adapter contract suite
                      (brokers.adapters.contract.AdapterContract)

A venue that needs tables or routes of its own is a small Django app here
(`brokers.venues.<name>`, in INSTALLED_APPS). It is plugged in by naming its
adapter in `settings.BROKER_ADAPTERS`; nothing else imports it. The paper venue
(`paperbroker/`) is the first venue behind the same interface.
"""
