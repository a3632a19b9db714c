"""The mail service loads with its config, spec and handlers, and serves its built-ins.

The service is the one this file belongs to (``this_service``), so a copied directory tests itself.
"""

from macaron import create_app
from macaron.testing import Api, ThisService, serve_app


def test_loads_and_serves_builtins(this_service: ThisService) -> None:
    service = this_service.load()
    assert service.name == this_service.name == this_service.directory.name
    with serve_app(create_app(service)) as url:
        api = Api(url)
        assert api.get("/ping").status_code == 200  # {} or {"degraded": [...]} without Redis
        assert api.get("/version").json()["name"] == this_service.name
        assert {o.operation.operation_id for o in service.operations} <= set(api.get("/api.json").text.split('"'))



def test_a_delivery_job_keeps_its_record_an_hour_not_a_day(this_service: ThisService) -> None:
    """~7 KB of Redis per finished job: at mail volumes a day of them would be gigabytes
    (docs/scaling.md, capacity model); a mail's state lives in the store."""
    import importlib

    service = this_service.load()
    tasks = importlib.import_module(f"{service.package}.tasks")
    assert tasks.deliver.options.result_ttl == 3600 < tasks.deliver.options.failure_ttl
