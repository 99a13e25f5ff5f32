"""A study population on the fake Hub: real configs (../shared/corpus*, samples/) re-hosted under their
organisations, with SYNTHETIC listing fields (createdAt near each model's public release month,
downloads invented), and derivatives that declare a member's model as base_model.

Used by tests/test_study.py and tools/study_demo.py. The configs are real; the dates and download
counts are not measurements of the Hub.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = [ROOT.parent.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus2", Path("/work/shared/corpus"),
          Path("/work/shared/corpus2"), ROOT / "samples"]

# (repo on the fake Hub, folder name in a corpus, createdAt month, downloads: synthetic)
MEMBERS = [
    ("THUDM/chatglm-6b", "THUDM__chatglm-6b", "2023-03", 40_000),
    ("THUDM/chatglm2-6b", "THUDM__chatglm2-6b", "2023-06", 60_000),
    ("Qwen/Qwen-7B", "Qwen__Qwen-7B", "2023-08", 30_000),
    ("baichuan-inc/Baichuan2-13B-Chat", "baichuan-inc__Baichuan2-13B-Chat", "2023-09", 25_000),
    ("baichuan-inc/Baichuan2-7B", "baichuan-inc__Baichuan2-7B__sophgo-copy", "2023-09", 15_000),
    ("Qwen/Qwen-72B", "Qwen__Qwen-72B", "2023-11", 12_000),
    ("01-ai/Yi-34B-Chat-4bits", "01-ai__Yi-34B-Chat-4bits", "2023-11", 8_000),
    ("internlm/internlm2-chat-7b", "internlm__internlm2-chat-7b", "2024-01", 20_000),
    ("Qwen/Qwen1.5-110B", "Qwen__Qwen1.5-110B", "2024-04", 9_000),
    ("01-ai/Yi-1.5-34B", "01-ai__Yi-1.5-34B", "2024-05", 11_000),
    ("01-ai/Yi-1.5-6B", "01-ai__Yi-1.5-6B", "2024-05", 14_000),
    ("Qwen/Qwen2-72B", "Qwen__Qwen2-72B", "2024-06", 50_000),
    ("THUDM/glm-4-9b-chat", "THUDM__glm-4-9b-chat", "2024-06", 70_000),
    ("Qwen/Qwen2.5-14B", "Qwen__Qwen2.5-14B", "2024-09", 90_000),
    ("Qwen/Qwen2.5-32B", "Qwen__Qwen2.5-32B", "2024-09", 80_000),
    ("deepseek-ai/DeepSeek-V3-Base", "deepseek-ai__DeepSeek-V3-Base__helpy-copy", "2024-12", 100_000),
    ("deepseek-ai/DeepSeek-R1", "deepseek-ai__DeepSeek-R1", "2025-01", 900_000),
    ("Qwen/QwQ-32B", "Qwen__QwQ-32B__sophgo-copy", "2025-03", 200_000),
    ("inclusionAI/Ling-lite", "inclusionAI__Ling-lite__mindie-copy", "2025-03", 5_000),
    ("Qwen/Qwen3-8B", "Qwen__Qwen3-8B", "2025-04", 600_000),
    ("Qwen/Qwen3-235B-A22B-FP8", "Qwen__Qwen3-235B-A22B-FP8__aiconfigurator-copy", "2025-04", 150_000),
    ("XiaomiMiMo/MiMo-7B-RL", "XiaomiMiMo__MiMo-7B-RL__mimo-kor-copy", "2025-04", 30_000),
    ("MiniMaxAI/MiniMax-M1", "MiniMaxAI__MiniMax-M1__mirror", "2025-06", 40_000),
    ("openbmb/MiniCPM4-8B", "openbmb__MiniCPM4-8B", "2025-06", 35_000),
    ("moonshotai/Kimi-K2-Instruct", "moonshotai__Kimi-K2-Instruct__aiconfigurator", "2025-07", 300_000),
    ("zai-org/GLM-4.5-Air", "zai-org__GLM-4.5-Air", "2025-07", 250_000),
    ("deepseek-ai/DeepSeek-V3.1", "deepseek-ai__DeepSeek-V3.1__aiconfigurator-copy", "2025-08", 400_000),
    ("Qwen/Qwen3-Next-80B-A3B-Instruct", "Qwen__Qwen3-Next-80B-A3B-Instruct__alain-copy", "2025-09", 350_000),
    ("deepseek-ai/DeepSeek-V3.2", "deepseek-ai__DeepSeek-V3.2__aiconfigurator-copy", "2025-09", 200_000),
    ("zai-org/GLM-4.7-FP8", "zai-org__GLM-4.7-FP8__aiconfigurator-copy", "2025-12", 120_000),
]
# (repo, folder, month, downloads, the base model it declares)
DERIVATIVES = [
    ("SakuraLLM/Sakura-14B-Qwen2.5-v1.0", "SakuraLLM__Sakura-14B-Qwen2.5-v1.0", "2024-11", 7_000, "Qwen/Qwen2.5-14B"),
    ("deepseek-ai-fan/R1-Distill-Llama-8B-copy", "deepseek-ai__DeepSeek-R1-Distill-Llama-8B__alain-copy", "2025-02", 60_000,
     "deepseek-ai/DeepSeek-R1"),
    ("pqs-hub/qwen2.5-coder-7b-sft", "pqs-hub__project_up__qwen2.5-coder-7b-sft", "2025-05", 300, "Qwen/Qwen2.5-32B"),
]
# Not in the population and declaring no member as base: never listed.
BYSTANDERS = [("meta-llama/Llama-2-70b-chat-hf", "meta-llama__Llama-2-70b-chat-hf", "2023-07", 500_000)]
ORGS = sorted({r.split("/")[0] for r, *_ in MEMBERS})

POPULATION_YAML = "population: {id: china-sample, title: A sample of Chinese organisations (fake Hub)}\norganisations:\n" + "".join(
    f'  - {{org: {o}, name: {o}, kind: company, source: "https://huggingface.co/{o}", says: a public Hub organisation, how: recalled}}\n'
    for o in ORGS)


def folder(name: str) -> Path:
    for base in CORPUS:
        p = base / name
        if (p / "config.json").is_file():
            return p
    raise FileNotFoundError(name)


def populate(hub, *, with_bystanders: bool = True) -> dict[str, dict]:
    """Add the population to a FakeHub; returns repo -> its synthetic listing fields."""
    out: dict[str, dict] = {}
    rows = [(r, f, m, d, None) for r, f, m, d in MEMBERS] + DERIVATIVES
    if with_bystanders:
        rows += [(r, f, m, d, None) for r, f, m, d in BYSTANDERS]
    for i, (repo, name, month, downloads, base) in enumerate(rows):
        created = f"{month}-{1 + i % 27:02d}T12:00:00.000Z"
        info = {"downloads": downloads, "likes": downloads // 100, "createdAt": created, "lastModified": created}
        tags = [f"base_model:{base}", f"base_model:finetune:{base}"] if base else []
        hub.add_folder(repo, folder(name), tags=tags, info=info)
        out[repo] = info
    return out
