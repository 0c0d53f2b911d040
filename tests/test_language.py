"""Which encoder a data set gets: its language (``en``, ``zh`` or ``other``), read from the texts,
picks the profile's English, Chinese or multilingual encoder, in the API and on the command line.

Every sentence below was written for these tests (none is taken from a data set): short reviews
and posts; the German ones carry a label (1 positive, 0 negative) for the CSV of the CLI tests."""

import random

import pandas as pd
import pytest

from bertclf import cli, data, train
from bertclf.cli.parser import build_parser
from bertclf.cli.training import baseline_analyzer, choose_config
from bertclf.data.language import detect_language, english_share
from bertclf.data.sources import chinese_reviews_frame, tweets_frame
from bertclf.errors import BertclfError
from bertclf.profiles import BUNDLED_MULTILINGUAL_MODEL, get_profile

GERMAN = [
    ("Der Akku hält wirklich lange, ich bin sehr zufrieden.", 1),
    ("Die Lieferung kam einen Tag früher als angekündigt.", 1),
    ("Tolles Hotel, freundliches Personal und ein super Frühstück.", 1),
    ("Das Essen war lecker und die Portionen waren groß.", 1),
    ("Ich kann dieses Buch nur empfehlen, es hat mich bis zum Ende gefesselt.", 1),
    ("Sehr gute Qualität für den Preis, gerne wieder.", 1),
    ("Der Film war spannend und die Schauspieler waren großartig.", 1),
    ("Die Kopfhörer klingen klar und sitzen bequem.", 1),
    ("Schneller Versand und alles war gut verpackt.", 1),
    ("Unser Urlaub am See war einfach wunderbar.", 1),
    ("Die App ist übersichtlich und läuft ohne Probleme.", 1),
    ("Der Kundenservice hat mir sofort geholfen, vielen Dank!", 1),
    ("Das Konzert gestern Abend war ein echtes Erlebnis.", 1),
    ("Die Schuhe passen perfekt und sehen toll aus.", 1),
    ("Endlich ein Staubsauger, der leise ist und trotzdem gut saugt.", 1),
    ("Wir haben uns in der Ferienwohnung sehr wohl gefühlt.", 1),
    ("Die Kaffeemaschine macht einen hervorragenden Espresso.", 1),
    ("Ein wunderschöner Tag im Park mit der ganzen Familie.", 1),
    ("Das Restaurant hat eine gemütliche Atmosphäre und faire Preise.", 1),
    ("Die Jacke ist warm, leicht und hält den Regen ab.", 1),
    ("Meine Tochter liebt das Spielzeug und spielt jeden Tag damit.", 1),
    ("Die Installation war einfach und hat nur fünf Minuten gedauert.", 1),
    ("Der Zug war pünktlich und die Fahrt angenehm ruhig.", 1),
    ("Ich freue mich schon auf den nächsten Besuch bei euch.", 1),
    ("Die Bilder der Kamera sind scharf und die Farben natürlich.", 1),
    ("Das Team hat großartige Arbeit geleistet, ich bin begeistert.", 1),
    ("Ein sehr hilfreicher Ratgeber mit vielen praktischen Tipps.", 1),
    ("Der Bildschirm ist hell und die Bedienung ist kinderleicht.", 1),
    ("Die Wanderung durch die Berge hat sich wirklich gelohnt.", 1),
    ("Heute hat alles geklappt, was für ein schöner Tag.", 1),
    ("Das Gerät ist nach zwei Wochen kaputt gegangen.", 0),
    ("Die Lieferung hat drei Wochen gedauert und niemand hat sich gemeldet.", 0),
    ("Das Zimmer war schmutzig und das Bett unbequem.", 0),
    ("Leider schmeckt das Essen nach gar nichts.", 0),
    ("Ich habe das Buch nach fünfzig Seiten weggelegt, furchtbar langweilig.", 0),
    ("Die Qualität ist miserabel, ich will mein Geld zurück.", 0),
    ("Der Film war viel zu lang und die Handlung völlig vorhersehbar.", 0),
    ("Die Kopfhörer rauschen und die Verbindung bricht ständig ab.", 0),
    ("Das Paket kam beschädigt an und ein Teil fehlte.", 0),
    ("Der Urlaub war eine Katastrophe, es hat jeden Tag geregnet.", 0),
    ("Die App stürzt bei jedem Start ab.", 0),
    ("Der Kundenservice ist unfreundlich und antwortet nie auf E-Mails.", 0),
    ("Das Konzert fing eine Stunde zu spät an und der Ton war schlecht.", 0),
    ("Die Schuhe sind nach einem Monat schon auseinandergefallen.", 0),
    ("Der Staubsauger ist laut wie ein Flugzeug und saugt kaum.", 0),
    ("In der Wohnung roch es muffig und die Heizung funktionierte nicht.", 0),
    ("Die Kaffeemaschine tropft und der Kaffee ist lauwarm.", 0),
    ("Was für ein verlorener Tag, nichts hat funktioniert.", 0),
    ("Im Restaurant mussten wir eine Stunde auf unser Essen warten.", 0),
    ("Die Jacke ist nach der ersten Wäsche eingelaufen.", 0),
    ("Das Spielzeug ist nach zwei Tagen zerbrochen, schade um das Geld.", 0),
    ("Die Anleitung ist unverständlich und die Schrauben passen nicht.", 0),
    ("Der Zug hatte wieder neunzig Minuten Verspätung.", 0),
    ("Ich werde dort bestimmt nie wieder bestellen.", 0),
    ("Die Fotos sind unscharf und das Display spiegelt stark.", 0),
    ("Der Handwerker kam zu spät und hat die Arbeit nicht beendet.", 0),
    ("Das Buch ist voller Fehler und schlecht übersetzt.", 0),
    ("Die Tastatur klemmt und einige Tasten reagieren gar nicht.", 0),
    ("Der Ausflug war teuer, überfüllt und enttäuschend.", 0),
    ("Heute ging wirklich alles schief, ich bin total genervt.", 0),
]
SPANISH = [
    "El hotel estaba muy limpio y el personal fue muy amable.",
    "La comida llegó fría y tarde, no vuelvo a pedir aquí.",
    "Me encanta este libro, lo leí en dos días.",
    "La batería dura todo el día sin problemas.",
    "El envío fue rápido y el paquete llegó en perfecto estado.",
    "Qué película tan aburrida, me dormí a la mitad.",
    "Los auriculares suenan muy bien por el precio que tienen.",
    "El servicio al cliente nunca contestó mis correos.",
    "Hoy hace un día precioso para ir a la playa.",
    "La aplicación se cierra cada vez que intento pagar.",
    "Mis hijos se lo pasaron genial en el parque.",
    "El restaurante tiene una terraza muy agradable y buenos precios.",
    "Las zapatillas son cómodas pero se rompieron en un mes.",
    "No recomiendo esta tienda, el producto venía roto.",
    "El concierto de anoche fue increíble.",
    "La cafetera hace un café riquísimo.",
    "El tren llegó con una hora de retraso otra vez.",
    "Estoy muy contento con la compra, funciona perfectamente.",
    "La habitación era pequeña y había mucho ruido por la noche.",
    "Gracias por la ayuda, todo quedó resuelto en minutos.",
    "La pantalla se ve muy bien incluso con mucho sol.",
    "Nunca había probado una paella tan buena.",
]
INDONESIAN = [
    "Pelayanannya sangat ramah dan makanannya enak sekali.",
    "Barangnya sudah sampai dengan cepat dan dikemas dengan rapi.",
    "Saya kecewa karena kualitas produknya jelek.",
    "Hotel ini bersih dan lokasinya dekat dengan pantai.",
    "Baterainya cepat habis, tidak sesuai dengan deskripsi.",
    "Film ini sangat seru, saya ingin menontonnya lagi.",
    "Pengirimannya lama sekali, sudah dua minggu belum datang.",
    "Harganya murah tapi kualitasnya bagus.",
    "Aplikasinya sering error dan tidak bisa dibuka.",
    "Terima kasih, penjualnya cepat tanggap dan jujur.",
    "Kamarnya kotor dan AC-nya tidak dingin.",
    "Saya sangat puas dengan pembelian ini.",
    "Makanannya datang terlambat dan sudah dingin.",
    "Anak saya suka sekali dengan mainan ini.",
    "Layanan pelanggannya tidak membantu sama sekali.",
    "Hari ini cuacanya cerah, enak untuk jalan-jalan.",
    "Bukunya menarik dan mudah dipahami.",
    "Ukuran sepatunya tidak pas, terlalu kecil.",
    "Kopi di kafe itu enak dan tempatnya nyaman.",
    "Jangan beli di toko ini, barangnya palsu.",
    "Kereta hari ini penuh sekali dan terlambat satu jam.",
    "Suaranya jernih dan bass-nya mantap.",
]
FRENCH = [
    "Le service était rapide et le personnel très sympathique.",
    "Je suis déçu, le produit ne fonctionne plus après une semaine.",
    "Ce livre est magnifique, je le recommande à tout le monde.",
    "La livraison a pris trois semaines, c'est inadmissible.",
    "Le repas était délicieux et le vin excellent.",
    "La batterie ne tient pas la journée.",
    "Quel film ennuyeux, je me suis endormi.",
    "Les écouteurs sont confortables et le son est clair.",
    "L'application plante à chaque démarrage.",
    "Nous avons passé un excellent séjour dans cet hôtel.",
    "Le train avait encore une heure de retard ce matin.",
    "Très bon rapport qualité-prix, je rachèterai.",
    "La chambre était sale et le lit inconfortable.",
    "Merci beaucoup pour votre aide, tout est réglé.",
    "Il fait beau aujourd'hui, on va au parc avec les enfants.",
    "Le colis est arrivé abîmé et il manquait une pièce.",
    "Une soirée inoubliable, le concert était génial.",
    "Le café est froid et le serveur ne s'est jamais excusé.",
    "Les chaussures sont jolies mais elles font mal aux pieds.",
    "Je n'achèterai plus jamais sur ce site.",
    "L'écran est lumineux et l'installation a été simple.",
    "C'est le meilleur restaurant du quartier.",
]
JAPANESE = [
    "このホテルはとても清潔で、スタッフも親切でした。",
    "料理が冷めていて、がっかりしました。",
    "この本は面白くて、一気に読んでしまいました。",
    "電池の持ちが良く、一日中使えます。",
    "注文してから二日で届きました。",
    "映画が長すぎて、途中で寝てしまった。",
    "値段の割に音質がとても良いです。",
    "カスタマーサービスの対応が遅すぎる。",
    "今日は天気が良いので、公園に行きます。",
    "アプリが何度も落ちて使い物にならない。",
    "子供たちはこのおもちゃが大好きです。",
    "駅から近くて便利な場所にあります。",
    "靴のサイズが小さすぎて、返品しました。",
    "二度とこの店では買いません。",
    "昨日のコンサートは最高でした！",
    "コーヒーがとても美味しかったです。",
    "電車がまた一時間も遅れた。",
    "買ってよかったと思える商品です。",
    "部屋が狭くて、夜はうるさかった。",
    "丁寧に説明していただき、ありがとうございました。",
    "画面が明るくて見やすいです。",
    "箱が潰れていて、部品が一つ足りませんでした。",
]
RUSSIAN = [
    "Отель очень чистый, а персонал был вежливым.",
    "Еда пришла холодной и с опозданием.",
    "Отличная книга, прочитал за два дня.",
    "Батарея держит целый день.",
    "Доставка была быстрой, всё упаковано аккуратно.",
    "Скучный фильм, я уснул на середине.",
    "Наушники звучат отлично за такую цену.",
    "Служба поддержки так и не ответила на моё письмо.",
    "Сегодня прекрасная погода, идём гулять в парк.",
    "Приложение вылетает каждый раз при оплате.",
    "Детям очень понравилась эта игрушка.",
    "Уютный ресторан с хорошими ценами.",
    "Кроссовки развалились через месяц.",
    "Не рекомендую этот магазин, товар пришёл сломанным.",
    "Вчерашний концерт был просто потрясающим!",
    "Кофе здесь очень вкусный.",
    "Поезд опять опоздал на час.",
    "Я очень доволен покупкой, всё работает.",
    "Номер был маленький и шумный.",
    "Спасибо за помощь, всё решили за пять минут.",
    "Экран яркий, всё хорошо видно даже на солнце.",
    "Больше никогда не буду здесь заказывать.",
]
KOREAN = [
    "호텔이 정말 깨끗하고 직원들이 친절했어요.",
    "음식이 식어서 왔고 너무 늦었어요.",
    "이 책 정말 재미있어서 이틀 만에 다 읽었어요.",
    "배터리가 하루 종일 가요.",
    "배송이 빠르고 포장도 꼼꼼했습니다.",
    "영화가 너무 지루해서 중간에 잤어요.",
    "가격 대비 음질이 아주 좋아요.",
    "고객센터는 제 메일에 답장을 안 했어요.",
    "오늘 날씨가 좋아서 공원에 갑니다.",
    "앱이 결제할 때마다 꺼져요.",
    "아이들이 이 장난감을 정말 좋아해요.",
    "분위기 좋은 식당이고 가격도 괜찮아요.",
    "운동화가 한 달 만에 망가졌어요.",
    "이 가게는 추천하지 않아요, 물건이 부서져서 왔어요.",
    "어젯밤 콘서트는 정말 최고였어요!",
    "여기 커피가 정말 맛있어요.",
    "기차가 또 한 시간이나 늦었어요.",
    "구매에 아주 만족합니다, 잘 작동해요.",
    "방이 좁고 밤에 시끄러웠어요.",
    "도와주셔서 감사합니다, 금방 해결됐어요.",
    "화면이 밝아서 잘 보여요.",
    "다시는 여기서 주문하지 않을 거예요.",
]
# a few more Latin-script languages, to show that the English rule does not catch them
DUTCH = [
    "Het hotel was schoon en het personeel was heel vriendelijk.",
    "Het eten was koud en kwam veel te laat.",
    "Dit is een goed boek, ik heb het in twee dagen gelezen.",
    "De batterij gaat de hele dag mee.",
    "De levering was snel en alles was goed verpakt.",
    "Wat een saaie film, ik ben in slaap gevallen.",
    "De trein was weer een uur te laat.",
    "Ik ben heel blij met mijn aankoop.",
    "Het is vandaag mooi weer, we gaan naar het park.",
    "De app crasht elke keer als ik wil betalen.",
]
ITALIAN = [
    "L'albergo era pulito e il personale molto gentile.",
    "Il cibo è arrivato freddo e in ritardo.",
    "Un libro bellissimo, l'ho letto in due giorni.",
    "La batteria dura tutto il giorno.",
    "Il treno era in ritardo di un'ora.",
    "Non comprerò mai più in questo negozio.",
    "Oggi è una bella giornata, andiamo al mare.",
    "L'app si chiude ogni volta che provo a pagare.",
]
PORTUGUESE = [
    "O hotel estava limpo e os funcionários foram muito simpáticos.",
    "A comida chegou fria e atrasada.",
    "Adorei o livro, li em dois dias.",
    "A bateria dura o dia todo.",
    "O trem atrasou uma hora de novo.",
    "Não recomendo esta loja, o produto veio quebrado.",
    "Hoje está um dia lindo para ir à praia.",
    "O aplicativo fecha toda vez que tento pagar.",
]
POLISH = [
    "Hotel był czysty, a obsługa bardzo miła.",
    "Jedzenie przyszło zimne i spóźnione.",
    "To jest świetna książka, przeczytałem ją w dwa dni.",
    "Bateria wystarcza na cały dzień.",
    "Pociąg znowu spóźnił się o godzinę.",
    "Nie polecam tego sklepu, produkt przyszedł uszkodzony.",
    "Dzisiaj jest piękna pogoda, idziemy do parku.",
    "Aplikacja zamyka się za każdym razem, gdy chcę zapłacić.",
]
SWEDISH = [
    "Hotellet var rent och personalen var mycket trevlig.",
    "Maten kom kall och för sent.",
    "Det här är en bra bok, jag läste den på två dagar.",
    "Batteriet räcker hela dagen.",
    "Tåget var försenat en timme igen.",
    "Jag rekommenderar inte den här butiken.",
    "Idag är det fint väder, vi går till parken.",
    "Appen kraschar varje gång jag försöker betala.",
]

OTHER = {"de": [text for text, _ in GERMAN], "es": SPANISH, "id": INDONESIAN, "fr": FRENCH, "ja": JAPANESE,
         "ru": RUSSIAN, "ko": KOREAN, "nl": DUTCH, "it": ITALIAN, "pt": PORTUGUESE, "pl": POLISH, "sv": SWEDISH}


def test_enough_sentences_were_written():
    for language in ("de", "es", "id", "fr", "ja", "ru", "ko"):
        assert len(OTHER[language]) >= 20 and len(set(OTHER[language])) == len(OTHER[language]), language
    assert sum(any("\u4e00" <= c <= "\u9fff" for c in text) for text in JAPANESE) >= 15, "Japanese with kanji"


def test_english_tweets_are_english():
    tweets = [str(text) for text in tweets_frame()["text"]]
    assert detect_language(tweets[:2000]) == detect_language(tweets[-2000:]) == "en"
    draws = random.Random(0)
    assert all(detect_language(draws.sample(tweets, 20)) == "en" for _ in range(200)), "any 20 tweets"
    assert english_share(tweets) > 0.15


def test_chinese_reviews_are_chinese():
    reviews = chinese_reviews_frame()["text"].tolist()
    assert detect_language(reviews[:2000]) == detect_language(reviews[-2000:]) == "zh"


@pytest.mark.parametrize("language", sorted(OTHER))
def test_other_languages_are_other_as_a_set_and_one_by_one(language):
    assert detect_language(OTHER[language]) == "other"
    assert [detect_language([text]) for text in OTHER[language]] == ["other"] * len(OTHER[language])
    if language not in ("ja", "ru", "ko"):  # Latin script: not one English function word
        assert english_share(OTHER[language]) == 0


def test_japanese_with_kanji_is_not_chinese_and_chinese_with_english_is_chinese():
    assert detect_language(["注文した商品が届きました。", "電池の持ちが良い。"]) == "other"
    assert detect_language(["这个手机很不错", "iPhone 很好用 but 太贵"]) == "zh"
    assert detect_language(["", " ", "12345"]) == "en", "no letters: the default"


def test_each_language_gets_the_profiles_encoder():
    quick, full = get_profile("quick"), get_profile("full")
    other = train.TrainConfig.from_profile(quick, language="other")
    assert other.model == BUNDLED_MULTILINGUAL_MODEL == "bundled-e5-small" and other.max_length == 128
    full_other = train.TrainConfig.from_profile(full, language="other")
    assert (full_other.model, full_other.max_length) == ("intfloat/multilingual-e5-small", 256)
    assert other.freeze_word_embeddings and full_other.freeze_word_embeddings, "the profiles' choice for e5"
    assert not train.TrainConfig.from_profile(quick, language="other", model="my-model").freeze_word_embeddings
    chinese = train.TrainConfig.from_profile(quick, language="zh")
    assert chinese.model == "bundled-e5-small" and chinese.freeze_word_embeddings, "chosen in 5b.6"
    assert not train.TrainConfig.from_profile(quick, language="zh", model="bundled-minilm-zh").freeze_word_embeddings
    assert train.TrainConfig.from_profile(quick, language="en").model == quick.model
    assert train.TrainConfig.from_profile(quick, language="zh").model == quick.chinese_model
    assert train.TrainConfig.from_profile(quick, language="other", model="my-model").model == "my-model"
    with pytest.raises(BertclfError, match="'en', 'zh', 'other'"):
        train.TrainConfig.from_profile(quick, language="de")


def test_the_bundled_name_resolves_lazily():
    import ast
    import inspect

    from bertclf.models import names

    source = inspect.getsource(names)
    module_level = [node for node in ast.parse(source).body if isinstance(node, ast.ImportFrom)]
    assert not any("encoders" in (node.module or "") for node in module_level), "imported on first use only"
    assert "multilingual_encoder_dir()" in inspect.getsource(names.resolve)


@pytest.fixture
def german_csv(tmp_path):
    path = tmp_path / "bewertungen.csv"
    pd.DataFrame(GERMAN, columns=["text", "label"]).to_csv(path, index=False)
    return path


def train_args(*argv):
    return build_parser().parse_args(["train", *map(str, argv)])


def test_a_german_csv_is_routed_to_the_multilingual_encoder(german_csv, tmp_path):
    texts = data.load_csv(german_csv)["train"]["text"]
    config, language = choose_config(train_args("--csv", german_csv, "--out", tmp_path / "run"), texts)
    assert language == "other" and config.model == "bundled-e5-small" and config.max_length == 128
    assert config.freeze_word_embeddings, "the profile's choice for its multilingual encoder"
    config, _ = choose_config(train_args("--csv", german_csv, "--train-word-embeddings"), texts)
    assert config.model == "bundled-e5-small" and not config.freeze_word_embeddings
    assert baseline_analyzer(language) == "char" and baseline_analyzer("zh") == "char"
    assert baseline_analyzer("en") == "word"
    config, _ = choose_config(train_args("--csv", german_csv, "--model", "bundled-minilm", "--max-length", "32"), texts)
    assert (config.model, config.max_length) == ("bundled-minilm", 32), "--model and --max-length still win"


def test_english_and_chinese_csvs_keep_their_encoders():
    profile = get_profile()
    tweets = [str(text) for text in tweets_frame()["text"][:300]]
    reviews = chinese_reviews_frame()["text"].tolist()[:300]
    assert choose_config(train_args("--csv", "x.csv"), tweets)[0].model == profile.model
    assert choose_config(train_args("--csv", "x.csv"), reviews)[0].model == profile.chinese_model


def test_the_first_line_of_bertclf_train_names_the_chosen_encoder(german_csv, tmp_path, monkeypatch, capsys):
    def stop(dsd, out, config, **kwargs):
        raise BertclfError(f"stopped before training {config.model}")

    monkeypatch.setattr(train, "fit", stop)
    code = cli.main(["train", "--csv", str(german_csv), "--out", str(tmp_path / "run"), "--epochs", "1"])
    captured = capsys.readouterr()
    assert code == 2 and "stopped before training bundled-e5-small" in captured.err
    first = captured.out.splitlines()[0]
    assert first.startswith("[bertclf] profile=") and "model=bundled-e5-small" in first
    assert "language=other" in first and "max_length=128" in first


@pytest.mark.slow
def test_bertclf_train_fine_tunes_the_multilingual_encoder_on_german(german_csv, tmp_path, capsys):
    """A real run: builds ``bundled-e5-small`` on first use (minutes) and trains its 12 layers."""
    code = cli.main(["train", "--csv", str(german_csv), "--out", str(tmp_path / "run"), "--epochs", "1",
                     "--train-size", "40", "--max-length", "32", "--batch-size", "8"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "model=bundled-e5-small" in out.splitlines()[0] and "char n-gram TF-IDF" in out
    assert "test accuracy" in out and (tmp_path / "run").is_dir()
