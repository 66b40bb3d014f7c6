"""Tiny randomly initialised vision-language models, built offline from configs and saved like hub checkpoints.

The recipe: a byte-level BPE tokenizer trained on a few strings with the family's
special tokens, a 2-layer text model (hidden 64, 4 heads, 2 KV heads) and a 2-layer vision tower (hidden 32). Their
text is random; tests use them to check the loading, batching, scoring and box-mapping path.
"""

from __future__ import annotations

from pathlib import Path

TEXT_MODEL = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
}
"""The recipe's text model: 2 layers, hidden 64, 4 heads, 2 KV heads."""
VISION_TOWER = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "image_size": 56,
    "patch_size": 14,
}
"""The recipe's CLIP / SigLIP vision tower: 2 layers, hidden 32, 56-px images in 14-px patches."""
QWEN_SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
QWEN_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}{% if part['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""The shape of Qwen2-VL's chat template: ChatML with vision markers, a default system turn when none is given."""
CORPUS = [
    "real fake verdict the image is AI-generated",
    '{"verdict": "fake", "regions": []}',
    '{"verdict": "real"}',
    "Real or fake? yes no",
]


def tokenizer(special: list[str], sentencepiece: bool = False, bos: str | None = None, corpus: list[str] | None = None):
    """A BPE tokenizer trained on ``corpus`` (default ``CORPUS``): byte-level (GPT-2, Qwen) or, with
    ``sentencepiece``, Metaspace pieces (``▁word``, as Llama and Gemma tokenizers); ``bos`` is added in front of every
    text, as Llama's tokenizer does."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if sentencepiece:
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
        trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=special)
    else:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=400, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
        )
    tok.train_from_iterator((corpus or CORPUS) * 20, trainer)
    if bos is not None:
        bos_id = tok.token_to_id(bos)
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
        )
    return PreTrainedTokenizerFast(tokenizer_object=tok)


def token_ids(tok) -> dict[str, int]:
    """The vocabulary size and special-token ids a text-model config takes from its tokenizer."""
    return {
        "vocab_size": len(tok),
        "bos_token_id": tok.bos_token_id,
        "eos_token_id": tok.eos_token_id,
        "pad_token_id": tok.pad_token_id,
    }


def build_qwen(
    folder: Path,
    version: str = "2.5",
    seed: int = 0,
    corpus: list[str] | None = None,
    output_std: float | None = None,
) -> Path:
    """A tiny Qwen2-VL (``version="2"``), Qwen2.5-VL (``"2.5"``) or Qwen3-VL (``"3"``) checkpoint in ``folder``
    (its tokenizer trained on ``corpus``, default ``CORPUS``; ``output_std``: :func:`trainable_outputs`)."""
    import torch
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    tok = tokenizer(QWEN_SPECIAL, corpus=corpus)
    tok.pad_token, tok.eos_token = "<|endoftext|>", "<|im_end|>"
    tok.chat_template = QWEN_TEMPLATE
    ids = {s: tok.convert_tokens_to_ids(s) for s in QWEN_SPECIAL}
    text = {
        **TEXT_MODEL,
        "vocab_size": len(tok),
        "max_position_embeddings": 4096,
        "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0},
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    tokens = {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
    }
    torch.manual_seed(seed)
    processor = Qwen2VLImageProcessorPil()
    if version == "3":
        from transformers import Qwen3VLConfig as Config
        from transformers import Qwen3VLForConditionalGeneration as Model

        text = {**text, "head_dim": 16, "rope_parameters": {**text["rope_parameters"], "mrope_interleaved": True}}
        vision = {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "deepstack_visual_indexes": [1],
            "num_position_embeddings": 64,
        }
        # Qwen3-VL's processor: 16-px patches merged 2 × 2 (a 32-px grid), its own pixel limits
        processor = Qwen2VLImageProcessorPil(
            patch_size=16, merge_size=2, size={"shortest_edge": 65536, "longest_edge": 16777216}
        )
    elif version == "2.5":
        from transformers import Qwen2_5_VLConfig as Config
        from transformers import Qwen2_5_VLForConditionalGeneration as Model

        vision = {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "fullatt_block_indexes": [1],
            "window_size": 56,
        }
    else:
        from transformers import Qwen2VLConfig as Config
        from transformers import Qwen2VLForConditionalGeneration as Model

        vision = {"depth": 2, "embed_dim": 32, "hidden_size": 64, "num_heads": 2, "mlp_ratio": 2}
    config = Config(text_config=text, vision_config=vision, **tokens)
    model = Model(config).eval()
    trainable_outputs(model, output_std)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


LLAVA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ message['role'].upper() }}: "
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>\n{% else %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{{ '\\n' }}{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)
"""A LLaVA-1.5-style chat template (<s>USER: <image>\\n… ASSISTANT:), as llava-hf checkpoints ship one."""


def build_llava(folder: Path, seed: int = 0) -> Path:
    """A tiny LLaVA-1.5 checkpoint (CLIP vision tower + Llama) with a chat template, in ``folder``."""
    import torch
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tok = tokenizer(["<unk>", "<s>", "</s>", "<image>"], sentencepiece=True, bos="<s>")
    tok.unk_token, tok.bos_token, tok.eos_token, tok.pad_token = "<unk>", "<s>", "</s>", "<unk>"
    image_id = tok.convert_tokens_to_ids("<image>")
    text = LlamaConfig(**TEXT_MODEL, max_position_embeddings=1024, **token_ids(tok))
    vision = CLIPVisionConfig(**VISION_TOWER, projection_dim=32)
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=image_id,
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config).eval()
    images = CLIPImageProcessorPil(size={"shortest_edge": 56}, crop_size={"height": 56, "width": 56})
    processor = LlavaProcessor(
        image_processor=images,
        tokenizer=tok,
        patch_size=14,
        chat_template=LLAVA_TEMPLATE,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
    )
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def build_paligemma(folder: Path, seed: int = 0, output_std: float | None = None) -> Path:
    """A tiny PaliGemma checkpoint (Siglip vision tower + Gemma) whose tokenizer has the <loc> and <seg> tokens
    (``output_std``: :func:`trainable_outputs`)."""
    import torch
    from transformers import GemmaConfig, PaliGemmaConfig, PaliGemmaForConditionalGeneration, PaliGemmaProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    tok = tokenizer(["<pad>", "<eos>", "<bos>", "<unk>"])
    tok.pad_token, tok.eos_token, tok.bos_token, tok.unk_token = "<pad>", "<eos>", "<bos>", "<unk>"
    images = SiglipImageProcessorPil(size={"height": 56, "width": 56})
    images.image_seq_length = 16
    processor = PaliGemmaProcessor(image_processor=images, tokenizer=tok)
    tok = processor.tokenizer
    text = GemmaConfig(**TEXT_MODEL, head_dim=16, max_position_embeddings=1024, **token_ids(tok))
    vision = {**VISION_TOWER, "projection_dim": 64}
    config = PaliGemmaConfig(
        vision_config=vision,
        text_config=text,
        projection_dim=64,
        image_token_index=tok.convert_tokens_to_ids("<image>"),
    )
    torch.manual_seed(seed)
    model = PaliGemmaForConditionalGeneration(config).eval()
    trainable_outputs(model, output_std)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def trainable_outputs(model, std: float | None) -> None:
    """Give the output (and tied input) embeddings of ``model`` entries of standard deviation ``std`` (None: leave
    them). Behind a normalised last hidden state, the recipe's 0.02 bounds every logit near ±1, so no fine-tune
    can make an answer likely; a trained model's output embeddings are far larger."""
    if std is None:
        return
    import torch

    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for layer in {id(m): m for m in (model.get_input_embeddings(), model.get_output_embeddings())}.values():
            layer.weight.copy_(torch.randn(layer.weight.shape, generator=generator) * std)


CLIP_SPECIAL = ["<|startoftext|>", "<|endoftext|>"]


def build_clip(folder: Path, seed: int = 0) -> Path:
    """A tiny CLIP checkpoint (2-layer text and vision towers, 56-px images, 16-d projections) with a byte-level
    tokenizer that writes ``<|startoftext|> … <|endoftext|>`` and pads with ``<|endoftext|>``, as CLIP's does."""
    import torch
    from tokenizers import processors
    from transformers import CLIPConfig, CLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    tok = tokenizer(CLIP_SPECIAL)
    tok.bos_token, tok.eos_token, tok.pad_token = CLIP_SPECIAL[0], CLIP_SPECIAL[1], CLIP_SPECIAL[1]
    bos, eos = tok.bos_token_id, tok.eos_token_id
    tok.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{CLIP_SPECIAL[0]} $A {CLIP_SPECIAL[1]}",
        special_tokens=[(CLIP_SPECIAL[0], bos), (CLIP_SPECIAL[1], eos)],
    )
    text = {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "max_position_embeddings": 64,
        "vocab_size": len(tok),
        "bos_token_id": bos,
        "eos_token_id": eos,
        "pad_token_id": eos,
    }
    vision = {k: v for k, v in VISION_TOWER.items()}
    torch.manual_seed(seed)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    CLIPImageProcessorPil(size={"shortest_edge": 56}, crop_size={"height": 56, "width": 56}).save_pretrained(folder)
    return folder
