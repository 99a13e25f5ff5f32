"""Populations: a sourced, validated list of organisations, and the Hub listings that find their models
and those models' derivatives (end to end against the fake Hub)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SAMPLES
from huggingface_hub import HfApi

from inspector.errors import UsageError
from inspector.population import (
    POPULATIONS_DIR,
    check_population,
    derivative_queries,
    list_population,
    load_population,
    population_queries,
)

ISSUE_ORGS = ("Qwen", "deepseek-ai", "THUDM", "zai-org", "baichuan-inc", "01-ai", "internlm", "OpenGVLab", "moonshotai",
              "MiniMaxAI", "tencent", "baidu", "stepfun-ai", "ByteDance-Seed", "inclusionAI", "meituan-longcat",
              "rednote-hilab", "XiaomiMiMo", "openbmb", "BAAI", "Tele-AI", "xverse", "Skywork", "IndexTeam")


def test_the_shipped_china_population_loads_by_name():
    pop = load_population("china")
    assert pop.id == "china" and pop.as_of
    assert set(ISSUE_ORGS) <= set(pop.orgs)


def test_every_shipped_organisation_says_who_it_is_and_which_public_source_says_so():
    pop, problems = check_population(POPULATIONS_DIR / "china.yaml")
    assert not problems
    for o in pop.organisations:
        assert o.source.startswith(("https://", "http://")) and o.says and o.name
        assert o.how in ("checked", "recalled")
    assert sum(o.how == "checked" for o in pop.organisations) >= 5


def test_membership_is_by_hub_namespace_without_case():
    pop = load_population("china")
    assert pop.member("qwen/Qwen2.5-7B").org == "Qwen"
    assert pop.member("someone/Qwen2.5-7B-finetune") is None
    assert pop.member("no-slash") is None


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "pop.yaml"
    p.write_text(text)
    return p


GOOD = """population: {id: mine, title: Two labs}
organisations:
  - {org: Qwen, name: Qwen team, kind: company, source: "https://huggingface.co/Qwen", says: Alibaba Cloud, how: recalled}
  - {org: deepseek-ai, name: DeepSeek, kind: company, source: "https://github.com/deepseek-ai", says: Hangzhou, how: recalled}
"""


def test_a_user_population_file_replaces_the_shipped_one(tmp_path):
    pop = load_population(_write(tmp_path, GOOD))
    assert (pop.id, pop.orgs) == ("mine", ["Qwen", "deepseek-ai"])


@pytest.mark.parametrize("text, words", [
    (GOOD.replace('source: "https://huggingface.co/Qwen"', "source: my memory"), "must be a public http(s) URL"),
    (GOOD.replace("how: recalled}\n  - {org: deepseek", "how: rumour}\n  - {org: deepseek"), "`how` of 'Qwen' must be one of checked, recalled"),
    (GOOD.replace("org: deepseek-ai", "org: Qwen"), "listed twice"),
    (GOOD.replace("org: deepseek-ai", "org: deep seek"), "must be a Hub namespace"),
    (GOOD.replace(", says: Hangzhou", ""), "needs says"),
    (GOOD.replace("population: {id: mine, title: Two labs}", "population: {title: Two labs}"), "needs an `id`"),
    (GOOD + "extra: 1\n", "unknown top-level key 'extra'"),
    ("population: {id: x}\norganisations: []\n", "non-empty list"),
    ("population: [\n", "invalid YAML"),
])
def test_a_broken_population_file_is_one_line_naming_the_file_and_place(tmp_path, text, words):
    path = _write(tmp_path, text)
    with pytest.raises(UsageError) as e:
        load_population(path)
    line = e.value.one_line()
    assert words in line and str(path) in line and "\n" not in line


def test_an_unknown_population_name_lists_the_shipped_ones():
    with pytest.raises(UsageError, match="give a shipped name \\(china\\)"):
        load_population("atlantis")


def test_queries_one_per_organisation_and_one_base_model_filter_per_model():
    pop = load_population("china")
    qs = population_queries(pop)
    assert [q.author for q in qs] == pop.orgs and all(not q.filters for q in qs)
    ds = list(derivative_queries(["Qwen/Qwen2.5-7B", "qwen/qwen2.5-7b", "deepseek-ai/DeepSeek-R1"]))
    assert [q.filters for q in ds] == [("base_model:Qwen/Qwen2.5-7B",), ("base_model:deepseek-ai/DeepSeek-R1",)]
    assert ds[0].why == "derivatives of Qwen/Qwen2.5-7B"


@pytest.fixture
def population_hub(hub):
    """Two organisations' models, their derivatives (tagged as the Hub tags them), and bystanders."""
    folder = SAMPLES / "Qwen__Qwen3-4B__sophgo-copy"
    for repo in ("Qwen/Qwen3-4B", "Qwen/Qwen2.5-7B", "deepseek-ai/DeepSeek-R1"):
        hub.add_folder(repo, folder, info={"downloads": 1000, "likes": 10})
    hub.add_folder("alice/qwen3-4b-sft", folder, tags=["base_model:Qwen/Qwen3-4B", "base_model:finetune:Qwen/Qwen3-4B"],
                   info={"downloads": 5})
    hub.add_folder("bob/r1-gguf", folder, tags=["base_model:deepseek-ai/DeepSeek-R1", "base_model:quantized:deepseek-ai/DeepSeek-R1"])
    hub.add_folder("carol/sft-of-sft", folder, tags=["base_model:alice/qwen3-4b-sft"])  # a derivative's derivative
    hub.add_folder("dave/llama-ft", folder, tags=["base_model:meta-llama/Llama-3.1-8B"])
    hub.add_folder("Qwen/Qwen3-4B-GGUF", folder, tags=["base_model:Qwen/Qwen3-4B"])  # the org's own: listed once
    return hub


def test_a_population_lists_its_organisations_models(tmp_path, population_hub):
    pop = load_population(_write(tmp_path, GOOD))
    api = HfApi(endpoint=population_hub.endpoint, token=False)
    found = {item.repo: q.why for item, q in list_population(pop, api=api)}
    assert found == {"Qwen/Qwen3-4B": "org Qwen", "Qwen/Qwen2.5-7B": "org Qwen", "Qwen/Qwen3-4B-GGUF": "org Qwen",
                     "deepseek-ai/DeepSeek-R1": "org deepseek-ai"}


def test_with_derivatives_it_adds_the_models_that_declare_one_as_base(tmp_path, population_hub):
    pop = load_population(_write(tmp_path, GOOD))
    api = HfApi(endpoint=population_hub.endpoint, token=False)
    before = population_hub.stats.by_kind["list"]
    found = {item.repo: q.why for item, q in list_population(pop, api=api, derivatives=True)}
    assert found["alice/qwen3-4b-sft"] == "derivatives of Qwen/Qwen3-4B"
    assert found["bob/r1-gguf"] == "derivatives of deepseek-ai/DeepSeek-R1"
    assert "carol/sft-of-sft" not in found and "dave/llama-ft" not in found
    assert found["Qwen/Qwen3-4B-GGUF"] == "org Qwen"
    # one listing call per organisation, one per organisation model (each fits one page)
    assert population_hub.stats.by_kind["list"] - before == 2 + 4


def test_listed_rows_carry_the_listing_fields(tmp_path, population_hub):
    pop = load_population(_write(tmp_path, GOOD))
    api = HfApi(endpoint=population_hub.endpoint, token=False)
    items = {item.repo: item for item, _q in list_population(pop, api=api, derivatives=True)}
    assert items["alice/qwen3-4b-sft"].info.id == "alice/qwen3-4b-sft"
    assert items["Qwen/Qwen3-4B"].sha


def test_the_population_file_ships_as_package_data():
    cfg = (Path(__file__).resolve().parent.parent / "setup.cfg").read_text()
    assert "data/populations/*.yaml" in cfg
