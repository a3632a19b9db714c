"""The response every contender builds: a nested object."""


def thing(thing_id: int, detail: str) -> dict:
    return {
        "id": thing_id,
        "name": f"thing {thing_id}",
        "detail": detail,
        "owner": {"email": "owner@example.com", "name": "Owner"},
        "parts": [{"sku": f"ABC-{i:03d}", "qty": i, "price": i * 1.5} for i in range(5)],
    }
