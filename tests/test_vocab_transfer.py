"""Vocabulary transfer: new tokens are cut as whole words, their embedding rows start at the
meaning of their dictionary glosses, and the result is an ordinary transformers directory."""

import gzip

import pytest
import torch
from transformers import AutoModel, AutoTokenizer, BertModel

from bertclf.encoders.vocab_transfer import clean_gloss, extend_vocabulary, frequent_tokens, read_cedict
from bertclf.errors import BertclfError
from bertclf.models.load import load_tokenizer

CEDICT = """# CC-CEDICT sample
不錯 不错 [bu4 cuo4] /correct/right/not bad/pretty good/
失望 失望 [shi1 wang4] /disappointed/to lose hope/to despair/
錯 错 [cuo4] /mistake/error/wrong/
不 不 [bu4] /(negative prefix)/not/no/
失 失 [shi1] /to lose/to miss/
望 望 [wang4] /to hope/to look towards/
手 手 [shou3] /hand/(formal) person engaged in certain types of work/CL:雙|双[shuang1],隻|只[zhi1]/
機 机 [ji1] /surname Ji/machine/engine/
"""


@pytest.fixture()
def dictionary(tmp_path):
    path = tmp_path / "cedict.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(CEDICT)
    return read_cedict(path)


@pytest.fixture()
def tiny(tiny_model_dir):
    return BertModel.from_pretrained(tiny_model_dir), load_tokenizer(str(tiny_model_dir))


def test_cedict_is_read_by_simplified_headword(dictionary):
    assert dictionary["不错"] == ["correct", "right", "not bad", "pretty good"]
    assert dictionary["机"] == ["surname Ji", "machine", "engine"]


def test_glosses_lose_notes_that_carry_no_meaning():
    assert clean_gloss("surname Ji") == ""
    assert clean_gloss("CL:雙|双[shuang1]") == ""
    assert clean_gloss("(formal) person engaged in work") == "person engaged in work"


def test_new_words_are_single_tokens_matched_longest_first(tiny, dictionary):
    model, tokenizer = tiny
    report = extend_vocabulary(model, tokenizer, ["不", "错", "失", "望", "手", "机", "不错", "失望"], dictionary)
    assert report.added == 6  # MiniLM's vocabulary already has 不 and 手
    assert model.get_input_embeddings().num_embeddings == len(tokenizer)
    assert tokenizer.tokenize("手机不错，不失望") == ["手", "机", "不错", "，", "不", "失望"]


def test_rows_start_at_the_mean_of_the_gloss_embeddings(tiny, dictionary):
    model, tokenizer = tiny
    before = model.get_input_embeddings().weight.detach().clone()
    extend_vocabulary(model, tokenizer, ["失望", "机"], dictionary, senses=1)
    row = model.get_input_embeddings().weight[tokenizer.convert_tokens_to_ids("失望")]
    disappointed = before[tokenizer("disappointed", add_special_tokens=False)["input_ids"]].mean(0)
    assert torch.cosine_similarity(row, disappointed, dim=0) > 0.999
    machine = before[tokenizer("machine", add_special_tokens=False)["input_ids"]].mean(0)  # not "surname"
    assert torch.cosine_similarity(model.get_input_embeddings().weight[tokenizer.convert_tokens_to_ids("机")], machine, dim=0) > 0.999


def test_tokens_without_gloss_fall_back_on_characters_then_the_mean(tiny, dictionary):
    model, tokenizer = tiny
    report = extend_vocabulary(model, tokenizer, ["手", "机", "手机", "囧"], dictionary)
    assert (report.from_gloss, report.from_characters, report.from_mean) == (1, 1, 1)  # 手 is known already
    weight = model.get_input_embeddings().weight
    hand, machine, phone = (weight[tokenizer.convert_tokens_to_ids(t)] for t in ("手", "机", "手机"))
    assert torch.cosine_similarity(phone, (hand + machine) / 2, dim=0) > 0.999


def test_the_extended_model_saves_and_loads_as_a_plain_transformers_directory(tiny, dictionary, tmp_path):
    model, tokenizer = tiny
    extend_vocabulary(model, tokenizer, ["不错", "失望"], dictionary)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, loaded_tokenizer = AutoModel.from_pretrained(tmp_path), AutoTokenizer.from_pretrained(tmp_path)
    assert loaded_tokenizer.tokenize("囧不错") == ["[UNK]", "不错"]  # 囧: neither known nor added
    assert torch.equal(loaded.get_input_embeddings().weight, model.get_input_embeddings().weight)


def test_nothing_new_is_a_clear_error(tiny, dictionary):
    model, tokenizer = tiny
    with pytest.raises(BertclfError, match="no new tokens"):
        extend_vocabulary(model, tokenizer, ["the", "good"], dictionary)


def test_frequent_tokens_counts_characters_and_dictionary_words(dictionary):
    texts = ["手机不错", "不错不错", "失望了"] * 3
    chars, words = frequent_tokens(texts, dictionary, min_char_count=6, min_word_count=6)
    assert chars[0] == "不" and "了" not in chars  # 了 occurs 3 times
    assert words == ["不错"]  # 失望 occurs 3 times; 手机 is not in this dictionary
