from fraudwall.scoring.combo import Split, find_words, split_words


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
