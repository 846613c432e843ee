"""The door list's search and its columns on a narrow screen (carekey.app.doorlist)."""

from __future__ import annotations

from carekey.app.doorlist import CELL_PADDING, NAME_WIDTH, column_widths, matches, search_key


def test_search_ignores_case_and_spells_aa_as_a_ring() -> None:
    assert matches("ÆBLEHAVEN", "Æblehaven 3")
    assert matches("østergård", "Åse Ærø-Østergård")
    assert matches("aabenraa", "Åbenrå")
    assert matches("åbenrå", "Aabenraa")
    assert matches("aabenr", "Åbenråvej 117")  # half typed
    assert matches("kongens 25b", "Store Kongensgade 25B")  # every word, any order
    assert not matches("kongens 26", "Store Kongensgade 25B")
    assert matches("", "anything")
    decomposed = "A\u030abenra\u030a"  # Å and å as a + ring
    assert search_key(decomposed) == search_key("Åbenrå")


def test_columns_keep_their_width_when_everything_fits() -> None:
    rows = [("Arne", "Gade 1", "Hoveddør", "HL-1")]
    assert column_widths(80, rows) == [None, None, None, None]


def test_on_a_narrow_screen_the_address_gives_way_and_ids_stay_whole() -> None:
    rows = [
        (
            "Åse Ærø-Østergård",
            "Store Kongensgade 25B, st. tv., 1150 København K",
            "Hoveddør",
            "KBH-HL-000001",
        ),
        ("Bodil", "Æblehaven 3", "Hoveddør\n(akutnøgle)", "KBH-HL-000002"),
    ]
    widths = column_widths(76, rows)
    name, address, kind, door_id = widths
    assert door_id == len("KBH-HL-000001")
    assert kind == len("(akutnøgle)")  # the mark is a line of its own
    assert name == NAME_WIDTH
    assert name is not None
    assert address is not None
    assert name + address + kind + door_id + 4 * CELL_PADDING == 76
