from fraudwall.scoring.shape import entropy, shape


def test_words_people_pick_have_no_machine_traits():
    for label in ("github", "wikipedia", "example", "163", "web-de"):
        assert shape(label).value == 0, label


def test_machine_made_labels_score_and_say_why():
    random = shape("nhwfemnkljdsijndm")
    assert random.value > 0 and any("unpronounceable" in t for t in random.traits)
    assert "all digits" in shape("04513659").traits
    assert "letters and digits interleaved" in shape("0471k365").traits
    assert shape("secure-account-update-center").value > shape("account-update").value


def test_shape_is_capped_below_warn():
    assert shape("x7k2-q9z8-m3n4-p5r6-t7v8-w9y0-zz11").value <= 0.5


def test_entropy():
    assert entropy("aaaa") == 0 and entropy("ab") == 1
