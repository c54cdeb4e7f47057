"""People for identity tests: an admin, two members and a viewer, each with a real API key."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from fastapi.testclient import TestClient

from tests.reliability.support import TOKEN

BOOTSTRAP = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "correct horse battery"


def own_client_address() -> tuple[str, int]:
    """A client address for one test's TestClient: failures counted by one test never throttle
    another's requests."""
    return (f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}", 50000)


@dataclass
class Person:
    """A user made through the API, with one API key of its own."""

    name: str
    role: str
    key: str
    key_id: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        """The bearer header of this person's key."""
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class People:
    """Everyone a test needs, by role."""

    admin: Person
    alice: Person
    bob: Person
    viewer: Person
    everyone: list[Person] = field(default_factory=list)


def add_person(client: TestClient, role: str, stem: str) -> Person:
    """Add a user with a password (as the bootstrap admin) and make it a key (as itself, by logging in)."""
    name = f"{stem}-{uuid.uuid4().hex[:8]}"
    made = client.post("/api/users", json={"name": name, "role": role, "password": PASSWORD}, headers=BOOTSTRAP)
    assert made.status_code == 201, made.text
    key = client.post("/api/keys", json={"name": "tests", "user": name}, headers=BOOTSTRAP)
    assert key.status_code == 201, key.text
    body = key.json()
    return Person(name=name, role=role, key=body["key"], key_id=body["record"]["id"])


def make_people(client: TestClient) -> People:
    """An admin, two members (alice, bob) and a viewer, each with unique names."""
    admin = add_person(client, "admin", "ada")
    alice = add_person(client, "member", "alice")
    bob = add_person(client, "member", "bob")
    viewer = add_person(client, "viewer", "vera")
    return People(admin=admin, alice=alice, bob=bob, viewer=viewer, everyone=[admin, alice, bob, viewer])
