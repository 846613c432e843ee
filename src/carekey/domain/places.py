"""Where things are: the address of a dwelling, a stairwell or a gate."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    """Where a dwelling, stairwell or gate is."""

    property_id: int
    street: str
    house_number: str
    postal_code: str
    city: str
    entrance_id: int | None = None
    entrance_label: str | None = None
    dwelling_id: int | None = None
    floor: str | None = None
    side: str | None = None
    gate_id: int | None = None
    gate_label: str | None = None

    @property
    def text(self) -> str:
        """The address the way a Dane writes it: "Nørrebrogade 12A, 2. tv., 2200 København N"."""
        first = self.entrance_label or f"{self.street} {self.house_number}"
        flat = f", {self.floor}. {self.side}." if self.floor is not None else ""
        gate = f" ({self.gate_label})" if self.gate_label else ""
        return f"{first}{gate}{flat}, {self.postal_code} {self.city}"
