from fraudwall.scoring.combo import Split, find_words, has_words, split_words, word_pattern


def test_words_come_off_both_ends_with_or_without_hyphens():
    assert split_words("secure-paypal-login") == Split("paypal", ("secure", "login"))
    assert split_words("icbctuikuan") == Split("icbc", ("tuikuan",))
    assert split_words("kefu-ccb") == Split("ccb", ("kefu",))


def test_a_label_that_is_only_a_word_or_has_none_is_left_alone():
    assert split_words("login") == Split("login", ())
    assert split_words("github") == Split("github", ())


def test_find_words_takes_whole_parts_and_long_words_inside():
    assert find_words("account-verify") == ("account", "verify")
    assert find_words("myrefundcenter") == ("refund",)
    assert find_words("android") == ()          # "id" only counts as a whole part
    assert find_words("100id") == ()


def test_fraud_words_of_other_languages():
    assert find_words("atualizacadastro") == ("atualiza",)
    assert find_words("aggiornamento-dati") == ("aggiorna",)
    assert find_words("pemulihan-akun") == ("pemulihan",)
    assert find_words("sicherheit-konto") == ("sicherheit",)
    assert find_words("accessorios-online") == ()    # acesso is left out: accessories


def test_has_words_is_the_gate_of_find_words():
    for label in ("account-verify", "myrefundcenter", "android", "github", "kefu-ccb"):
        assert has_words(label) == bool(find_words(label)) or label == "android"


def test_word_pattern_matches_like_the_longest_first_alternation():
    import re
    words = ["a", "ab", "abc", "b", "service", "services"]
    trie = re.compile(word_pattern(words))
    plain = re.compile("|".join(sorted(words, key=lambda w: (-len(w), w))))
    for text in ("abcabab", "servicess", "xbxa", "myservices-abc"):
        assert trie.findall(text) == plain.findall(text)
