"""The feature index and its search, over plain values."""

from webplatform_digest.models import AreaData, AreaStatistics, Channel, Feature, Link, LinkType
from webplatform_digest.site.search import (
    IndexedFile,
    SearchIndex,
    SearchQuery,
    index_file,
    index_from_json,
    search,
    updated_index,
)


def _status(number: int) -> Link:
    return Link(f"https://chromestatus.com/feature/{number}", LinkType.CHROMESTATUS, "entry")


def _data(version: int, area: str, *features: tuple[str, int]) -> AreaData:
    found = tuple(
        Feature(title, "CSS", f"About {title}.", (_status(number),)) for title, number in features
    )
    return AreaData(version, Channel.STABLE, area, found, AreaStatistics(len(found), 0, ()))


def _index() -> SearchIndex:
    files = (
        index_file("a/css/139", "1", _data(139, "css", ("Anchor positioning", 5001))),
        index_file("a/ot/139", "1", _data(139, "origin-trials", ("Anchor positioning", 5001))),
        index_file("a/css/141", "1", _data(141, "css", ("Anchor positioning", 5001))),
        index_file("a/css/142", "1", _data(142, "css", ("Caret shape", 5002))),
        index_file("a/js/142", "1", _data(142, "javascript", ("Math sumPrecise", 5003))),
    )
    return SearchIndex(files)


def test_a_search_for_an_area_since_a_milestone_lists_newest_first() -> None:
    result = search(_index(), SearchQuery(area="css", since=140))

    assert [(hit.version, hit.title) for hit in result.features] == [
        (142, "Caret shape"),
        (141, "Anchor positioning"),
    ]
    assert result.features[0].digest_page == "versions/chrome-142/css.html"
    assert result.features[0].chromestatus == "https://chromestatus.com/feature/5002"


def test_every_word_must_appear_in_any_case() -> None:
    assert search(_index(), SearchQuery("ANCHOR position")).total == 3
    assert search(_index(), SearchQuery("anchor caret")).total == 0


def test_a_feature_also_in_the_origin_trial_area_is_at_the_origin_trial_stage() -> None:
    hits = search(_index(), SearchQuery("anchor", area="css")).features

    assert [(hit.version, hit.stage) for hit in hits] == [(141, "shipped"), (139, "origin trial")]


def test_the_limit_cuts_the_list_but_not_the_total() -> None:
    result = search(_index(), SearchQuery(limit=2))

    assert result.total == 5
    assert len(result.features) == 2


def test_only_new_or_changed_documents_are_read_again() -> None:
    old = _index()
    read: list[str] = []

    def reader(path: str) -> IndexedFile:
        read.append(path)
        return index_file(path, "2", _data(143, "css", ("New thing", 5009)))

    present = {file.path: file.fingerprint for file in old.files if file.path != "a/js/142"}
    present["a/css/142"] = "2"
    present["a/css/143"] = "2"
    update = updated_index(old, present, reader)

    assert sorted(read) == ["a/css/142", "a/css/143"]
    assert (update.reread, update.dropped) == (2, 1)
    assert [file.path for file in update.index.files] == sorted(present)


def test_the_stored_form_reads_back_to_the_same_index() -> None:
    index = _index()

    assert index_from_json(index.to_json()) == index
