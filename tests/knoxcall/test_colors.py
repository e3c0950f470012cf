"""knoxcall.lib.colors: every environment gets a colour no other one shows."""

import itertools

from knoxcall.lib.colors import PALETTE, _close, distinct_colors

DEFAULT = "#6366f1"  # what Environment.color defaults to


def test_it_keeps_colours_that_are_already_distinct():
    given = [("production", "#dc2626"), ("staging", "#d97706"), ("development", "#059669")]
    assert distinct_colors(given) == dict(given)


def test_it_gives_the_later_of_two_environments_sharing_a_colour_a_palette_colour():
    colors = distinct_colors([("production", "#dc2626"), ("eu-west", "#DC2626"), ("qa", DEFAULT)])
    assert colors["production"] == "#dc2626" and colors["qa"] == DEFAULT
    assert colors["eu-west"] in PALETTE and not _close(colors["eu-west"], "#dc2626")


def test_it_treats_colours_too_close_to_tell_apart_as_the_same():
    # red-600 and red-500 are different hex values but the same red as a 2 px chart line.
    colors = distinct_colors([("production", "#dc2626"), ("canary", "#ef4444")])
    assert colors["canary"] != "#ef4444" and not _close(colors["canary"], "#dc2626")


def test_it_colours_environments_without_a_valid_colour():
    colors = distinct_colors([("a", ""), ("b", None), ("c", "red"), ("d", "#12345")])
    assert len(set(colors.values())) == 4 and all(c in PALETTE for c in colors.values())


def test_it_never_repaints_an_environment_when_a_later_one_is_added():
    before = [("production", "#dc2626"), ("qa", DEFAULT), ("preview", DEFAULT)]
    after = [*before, ("eu-west", "#dc2626"), ("load", DEFAULT)]
    assert distinct_colors(after).items() >= distinct_colors(before).items()


def test_it_stays_distinct_past_the_palette():
    # Past the palette's twelve; the colours readable on white hold about twenty this far apart.
    colors = distinct_colors([(f"feature-{i}", DEFAULT) for i in range(20)])
    assert len(colors) == 20
    assert not [pair for pair in itertools.combinations(colors.values(), 2) if _close(*pair)]


def test_its_palette_colours_are_distinct_from_each_other():
    assert not [pair for pair in itertools.combinations(PALETTE, 2) if _close(*pair)]
