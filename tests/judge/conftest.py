"""Fixtures shared by the judge tests."""

import pytest


@pytest.fixture(scope="session")
def tiny_causal_lm(tmp_path_factory, tiny_qwen25vl_dir):
    """A random-init 2-layer Qwen2 causal LM with the tiny VLM's tokenizer and chat template."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    out = tmp_path_factory.mktemp("tiny_judge")
    tok = AutoTokenizer.from_pretrained(tiny_qwen25vl_dir)
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                      eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    Qwen2ForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)
