"""Ontology lookups over a categorySchema: ids, titles, nesting, options, tree paths."""

from __future__ import annotations

import copy

import pytest

from ango_frames.errors import ConfigError
from ango_frames.imports.ontology import Ontology

SCHEMA = {
    "tools": [
        {
            "tool": "bounding-box",
            "title": "car",
            "schemaId": "t-car",
            "classifications": [
                {
                    "tool": "radio",
                    "title": "occluded",
                    "schemaId": "c-occ",
                    "options": [
                        {"value": "yes", "schemaId": "o-y"},
                        {"value": "no", "schemaId": "o-n"},
                    ],
                    "classifications": [
                        {
                            "tool": "text",
                            "title": "why",
                            "schemaId": "c-why",
                            "parentOptionId": "o-y",
                        }
                    ],
                },
            ],
        },
        {"tool": "polygon", "title": "road", "schemaId": "t-road1"},
        {"tool": "polyline", "title": "road", "schemaId": "t-road2"},
    ],
    "classifications": [
        {
            "tool": "tree-dropdown",
            "title": "Taxonomy",
            "schemaId": "c-tax",
            "options": [
                {"value": "Vehicle", "schemaId": "n1"},
                {"value": "Vehicle / Car", "schemaId": "n2"},
            ],
            "treeOptions": [
                {
                    "title": "Vehicle",
                    "key": "n1",
                    "children": [
                        {
                            "title": "Car",
                            "key": "n2",
                            "children": [{"title": "Sedan", "key": "n3", "children": []}],
                        }
                    ],
                }
            ],
        },
        {"tool": "text", "title": "occluded", "schemaId": "c-global-occ"},
    ],
    "relations": [
        {"tool": "one-to-one", "title": "drives", "schemaId": "r-1"},
        {"tool": "group", "title": "family", "schemaId": "r-2"},
    ],
}


@pytest.mark.parametrize(
    "wrap",
    [
        lambda s: s,
        lambda s: {"categorySchema": s, "name": "p"},
        lambda s: {"status": "success", "data": {"project": {"categorySchema": s}}},
    ],
)
def test_from_project_accepts_every_wrapping(wrap):
    onto = Ontology.from_project(wrap(copy.deepcopy(SCHEMA)))
    assert set(onto.tools) == {"t-car", "t-road1", "t-road2"}
    assert onto.tool_type("t-road2") == "polyline"


# the published GET /project sample (docs.ango.ai API docs), trimmed to its ontology
PROJECT_RESPONSE = {
    "status": "success",
    "data": {
        "project": {
            "categorySchema": {
                "tools": [
                    {
                        "title": "Vehicle",
                        "tool": "bounding-box",
                        "required": False,
                        "schemaId": "4b8ac18a570747f87b27025",
                        "columnField": False,
                        "classifications": [
                            {
                                "title": "Type",
                                "tool": "radio",
                                "schemaId": "ae40cb11c104045c1a31698",
                                "options": [
                                    {"value": "Car", "schemaId": "27504d2d08f05b9944aa713"},
                                    {"value": "Truck", "schemaId": "c734a046cbee0646886a067"},
                                    {"value": "Bus", "schemaId": "41abb6003990d2aa1ce3605"},
                                    {"value": "Other", "schemaId": "32b3611a68df286fe6eb281"},
                                ],
                            }
                        ],
                        "color": "#9c27b0",
                    }
                ],
                "classifications": [],
                "relations": [],
            },
            "_id": "6167dfee2a810d000e9d313f",
            "name": "Project Name",
        }
    },
}


def test_from_project_reads_the_published_project_sample():
    onto = Ontology.from_project(PROJECT_RESPONSE)
    (tool,) = onto.tools.values()
    assert tool.title == "Vehicle" and tool.tool == "bounding-box"
    assert onto.option_values("ae40cb11c104045c1a31698") == {"Car", "Truck", "Bus", "Other"}
    assert onto.classification(title="Type", parent=tool.schema_id).type == "radio"


def test_title_shared_by_two_tools_is_an_error_listing_both_ids():
    onto = Ontology.from_project(SCHEMA)
    with pytest.raises(ConfigError) as err:
        onto.tool(title="road")
    assert "t-road1" in str(err.value) and "t-road2" in str(err.value)
    assert onto.tool(title="car").schema_id == "t-car"
    with pytest.raises(ConfigError):
        onto.tool(title="bike")


def test_classification_titles_are_scoped_by_parent():
    onto = Ontology.from_project(SCHEMA)
    assert onto.classification(title="occluded", parent="t-car").schema_id == "c-occ"
    assert onto.classification(title="occluded").schema_id == "c-global-occ"
    deep = onto.classification(title="why", parent="c-occ")
    assert deep.parent == "c-occ" and deep.parent_option_id == "o-y"
    assert onto.classification("c-why").type == "text"


def test_options_and_tree_paths():
    onto = Ontology.from_project(SCHEMA)
    assert onto.option_schema_ids("c-occ") == {"yes": "o-y", "no": "o-n"}
    paths = onto.tree_paths("c-tax")
    assert {"Vehicle", "Vehicle / Car", "Vehicle / Car / Sedan"} <= paths
    assert "Car" not in paths
    assert onto.classification("c-tax").is_list
    assert not onto.classification("c-occ").is_list


def test_relation_kinds():
    onto = Ontology.from_project(SCHEMA)
    assert onto.relation("r-1").kind == "single"
    assert onto.relation(title="family").kind == "group"


def test_malformed_schema_is_a_config_error():
    with pytest.raises(ConfigError):
        Ontology.from_project({"foo": 1})
    with pytest.raises(ConfigError):
        Ontology.from_project({"tools": [{"title": "x", "tool": "polygon"}]})
