"""How each model feature reads in a sentence, in every language Lookout speaks.

One table, :data:`PHRASES`: for every field the shipped model (or a retrained one) may use,
a label, a phrase template with ``{value}``, the value's form (whole days, a count, a
percentage, kilograms, hours, a flag, a code) and what a missing value says ("no history for
this consignee"). :func:`phrase_expr` turns an entry into one polars expression per language,
so a reason never shows a raw feature name, ``missing`` or ``39.03``. A field the table does
not know (an extra field of a dataset spec) reads ``"<field name in words>: <value>"``.

Russian phrases avoid number agreement ("поставок за 30 дней: 3", "52 дн. назад"), so one
template is right for every number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from engine.i18n import DEFAULT_LOCALE, LOCALES, decimal_text, share_text

Texts = dict[str, str]
"""One text per locale (``{"en": …, "ru": …}``)."""

FORMS = ("days", "count", "share", "rate", "kg", "money", "hours", "flag", "code", "number")


@dataclass(frozen=True)
class Phrase:
    """How one feature reads: ``text`` with ``{value}`` (for a flag: the true reading),
    ``other`` (a flag's false reading, or a count's zero reading), ``missing``, and
    ``values`` (readings of known codes, e.g. ``to_order`` → "to order") and ``one`` (a
    count's reading for 1, where the language needs it: "1 package")."""

    label: Texts
    text: Texts
    form: str
    missing: Texts
    other: Texts = field(default_factory=dict)
    values: dict[str, Texts] = field(default_factory=dict)
    one: Texts = field(default_factory=dict)


def _p(
    form: str,
    label: tuple[str, str],
    text: tuple[str, str],
    missing: tuple[str, str],
    other: tuple[str, str] | None = None,
    values: dict[str, tuple[str, str]] | None = None,
    one: str | None = None,
) -> Phrase:
    def texts(pair: tuple[str, str]) -> Texts:
        return dict(zip(LOCALES, pair, strict=True))

    return Phrase(
        label=texts(label),
        text=texts(text),
        form=form,
        missing=texts(missing),
        other=texts(other) if other else {},
        values={k: texts(v) for k, v in (values or {}).items()},
        one={"en": one} if one else {},
    )


_NO_CONSIGNEE = ("no history for this consignee", "нет истории по этому грузополучателю")
_NO_SHIPPER = ("no history for this shipper", "нет истории по этому грузоотправителю")
_NO_CONTAINER = ("no history for this container", "нет истории по этому контейнеру")

PHRASES: dict[str, Phrase] = {
    # --- goods, weights, values
    "gross_weight_kg": _p(
        "kg",
        ("gross weight", "вес брутто"),
        ("gross weight {value} kg", "вес брутто {value} кг"),
        ("gross weight not declared", "вес брутто не указан"),
    ),
    "declared_value": _p(
        "money",
        ("declared value", "заявленная стоимость"),
        ("declared value {value}", "заявленная стоимость {value}"),
        ("no declared value", "стоимость не заявлена"),
    ),
    "packages": _p(
        "count",
        ("packages", "количество мест"),
        ("{value} packages", "количество мест: {value}"),
        ("number of packages not declared", "количество мест не указано"),
        one="1 package",
    ),
    "amendments": _p(
        "count",
        ("amendments", "изменения манифеста"),
        ("manifest amended {value} times", "изменений манифеста: {value}"),
        ("amendments not reported", "нет данных об изменениях манифеста"),
        other=("manifest never amended", "манифест не изменялся"),
        one="manifest amended once",
    ),
    "kg_per_package": _p(
        "number",
        ("weight per package", "вес одного места"),
        ("{value} kg per package", "{value} кг на одно место"),
        ("weight per package unknown", "вес одного места неизвестен"),
    ),
    "value_per_kg": _p(
        "number",
        ("value per kg", "стоимость за кг"),
        ("declared value {value} per kg", "заявленная стоимость {value} за кг"),
        ("value per kg unknown", "стоимость за кг неизвестна"),
    ),
    # --- route and timing
    "transshipment_count": _p(
        "count",
        ("transshipment ports", "порты перевалки"),
        ("{value} transshipment ports", "портов перевалки: {value}"),
        ("transshipment ports unknown", "порты перевалки неизвестны"),
        other=("shipped direct, no transshipment", "прямая доставка, без перевалки"),
        one="1 transshipment port",
    ),
    "transit_days": _p(
        "days",
        ("days in transit", "время в пути"),
        ("{value} days in transit", "в пути {value} дн."),
        ("transit time unknown", "время в пути неизвестно"),
    ),
    "amended_after_departure_hours": _p(
        "hours",
        ("amended after departure", "изменение после отправления"),
        (
            "manifest amended {value} h after departure",
            "манифест изменён через {value} ч после отправления",
        ),
        ("not amended after departure", "после отправления манифест не изменялся"),
    ),
    # --- equipment and data quality
    "is_reefer": _p(
        "flag",
        ("reefer", "рефрижератор"),
        ("refrigerated container (reefer)", "рефрижераторный контейнер"),
        ("container type unknown", "тип контейнера неизвестен"),
        other=("not a reefer", "не рефрижераторный контейнер"),
    ),
    "is_empty": _p(
        "flag",
        ("empty container", "порожний контейнер"),
        ("container declared empty", "контейнер заявлен порожним"),
        ("load status unknown", "загрузка контейнера неизвестна"),
        other=("container declared loaded", "контейнер заявлен гружёным"),
    ),
    "dq_count": _p(
        "count",
        ("data-quality problems", "проблемы качества данных"),
        ("{value} data-quality problems", "проблем качества данных: {value}"),
        ("data quality not checked", "качество данных не проверено"),
        other=("no data-quality problem", "проблем качества данных нет"),
        one="1 data-quality problem",
    ),
    "dq_invalid_container_number": _p(
        "flag",
        ("container number check", "проверка номера контейнера"),
        (
            "container number fails its check digit",
            "номер контейнера не проходит проверку контрольной цифры",
        ),
        ("container number not checked", "номер контейнера не проверен"),
        other=("container number valid", "номер контейнера корректен"),
    ),
    "dq_vague_goods_description": _p(
        "flag",
        ("goods description", "описание товара"),
        ("vague goods description", "неконкретное описание товара"),
        ("goods description not checked", "описание товара не проверено"),
        other=("goods described specifically", "товар описан конкретно"),
    ),
    "dq_placeholder_consignee": _p(
        "flag",
        ("consignee name", "наименование грузополучателя"),
        ("consignee is a placeholder name", "вместо грузополучателя указана заглушка"),
        ("consignee name not checked", "наименование грузополучателя не проверено"),
        other=("consignee named", "грузополучатель назван"),
    ),
    "dq_po_box_consignee_address": _p(
        "flag",
        ("consignee address", "адрес грузополучателя"),
        ("consignee address is only a P.O. box", "адрес грузополучателя — только абонентский ящик"),
        ("consignee address not checked", "адрес грузополучателя не проверен"),
        other=("consignee has a street address", "у грузополучателя указан адрес"),
    ),
    # --- party and container history
    "consignee_is_new": _p(
        "flag",
        ("new consignee", "новый грузополучатель"),
        ("new consignee, never seen before", "новый грузополучатель, ранее не встречался"),
        _NO_CONSIGNEE,
        other=("consignee seen before", "грузополучатель встречался ранее"),
    ),
    "shipper_is_new": _p(
        "flag",
        ("new shipper", "новый грузоотправитель"),
        ("new shipper, never seen before", "новый грузоотправитель, ранее не встречался"),
        _NO_SHIPPER,
        other=("shipper seen before", "грузоотправитель встречался ранее"),
    ),
    "consignee_first_seen_days": _p(
        "days",
        ("consignee first seen", "грузополучатель впервые замечен"),
        (
            "consignee first seen {value} days ago",
            "грузополучатель впервые замечен {value} дн. назад",
        ),
        _NO_CONSIGNEE,
    ),
    "shipper_first_seen_days": _p(
        "days",
        ("shipper first seen", "грузоотправитель впервые замечен"),
        (
            "shipper first seen {value} days ago",
            "грузоотправитель впервые замечен {value} дн. назад",
        ),
        _NO_SHIPPER,
    ),
    "consignee_shipments_30d": _p(
        "count",
        ("consignee shipments in 30 days", "поставки грузополучателю за 30 дней"),
        (
            "consignee had {value} shipments in 30 days",
            "поставок грузополучателю за 30 дней: {value}",
        ),
        _NO_CONSIGNEE,
        other=(
            "consignee had no shipment in 30 days",
            "за 30 дней грузополучателю не было поставок",
        ),
        one="consignee had 1 shipment in 30 days",
    ),
    "consignee_shipments_90d": _p(
        "count",
        ("consignee shipments in 90 days", "поставки грузополучателю за 90 дней"),
        (
            "consignee had {value} shipments in 90 days",
            "поставок грузополучателю за 90 дней: {value}",
        ),
        _NO_CONSIGNEE,
        other=(
            "consignee had no shipment in 90 days",
            "за 90 дней грузополучателю не было поставок",
        ),
        one="consignee had 1 shipment in 90 days",
    ),
    "consignee_shipments_365d": _p(
        "count",
        ("consignee shipments in a year", "поставки грузополучателю за год"),
        ("consignee had {value} shipments in a year", "поставок грузополучателю за год: {value}"),
        _NO_CONSIGNEE,
        other=("consignee had no shipment in a year", "за год грузополучателю не было поставок"),
        one="consignee had 1 shipment in a year",
    ),
    "shipper_shipments_30d": _p(
        "count",
        ("shipper shipments in 30 days", "отправки грузоотправителя за 30 дней"),
        (
            "shipper had {value} shipments in 30 days",
            "отправок грузоотправителя за 30 дней: {value}",
        ),
        _NO_SHIPPER,
        other=(
            "shipper had no shipment in 30 days",
            "за 30 дней у грузоотправителя не было отправок",
        ),
        one="shipper had 1 shipment in 30 days",
    ),
    "shipper_shipments_90d": _p(
        "count",
        ("shipper shipments in 90 days", "отправки грузоотправителя за 90 дней"),
        (
            "shipper had {value} shipments in 90 days",
            "отправок грузоотправителя за 90 дней: {value}",
        ),
        _NO_SHIPPER,
        other=(
            "shipper had no shipment in 90 days",
            "за 90 дней у грузоотправителя не было отправок",
        ),
        one="shipper had 1 shipment in 90 days",
    ),
    "shipper_shipments_365d": _p(
        "count",
        ("shipper shipments in a year", "отправки грузоотправителя за год"),
        ("shipper had {value} shipments in a year", "отправок грузоотправителя за год: {value}"),
        _NO_SHIPPER,
        other=("shipper had no shipment in a year", "за год у грузоотправителя не было отправок"),
        one="shipper had 1 shipment in a year",
    ),
    "consignee_distinct_shippers_365d": _p(
        "count",
        ("consignee's shippers in a year", "грузоотправители грузополучателя за год"),
        (
            "consignee received from {value} different shippers in a year",
            "разных грузоотправителей у грузополучателя за год: {value}",
        ),
        _NO_CONSIGNEE,
        other=(
            "no shipper sent to this consignee in a year",
            "за год грузополучателю грузы не отправлялись",
        ),
        one="consignee received from 1 shipper in a year",
    ),
    "shipper_distinct_consignees_365d": _p(
        "count",
        ("shipper's consignees in a year", "грузополучатели грузоотправителя за год"),
        (
            "shipper sent to {value} different consignees in a year",
            "разных грузополучателей у грузоотправителя за год: {value}",
        ),
        _NO_SHIPPER,
        other=(
            "shipper sent to no consignee in a year",
            "за год грузоотправитель грузов не отправлял",
        ),
        one="shipper sent to 1 consignee in a year",
    ),
    "shipper_hs_chapter_share": _p(
        "share",
        ("shipper's share of this HS chapter", "доля этой группы ТН ВЭД у грузоотправителя"),
        (
            "{value} of this shipper's past shipments were in this HS chapter",
            "{value} прошлых отправок грузоотправителя — в этой группе ТН ВЭД",
        ),
        _NO_SHIPPER,
        other=(
            "first shipment of this HS chapter by this shipper",
            "первая отправка этой группы ТН ВЭД данным грузоотправителем",
        ),
    ),
    "consignee_hs_chapter_share": _p(
        "share",
        ("consignee's share of this HS chapter", "доля этой группы ТН ВЭД у грузополучателя"),
        (
            "{value} of this consignee's past shipments were in this HS chapter",
            "{value} прошлых поставок грузополучателю — в этой группе ТН ВЭД",
        ),
        _NO_CONSIGNEE,
        other=(
            "first shipment of this HS chapter to this consignee",
            "первая поставка этой группы ТН ВЭД данному грузополучателю",
        ),
    ),
    "consignee_route_is_new": _p(
        "flag",
        ("new route for the consignee", "новый маршрут грузополучателя"),
        ("new route for this consignee", "новый маршрут для этого грузополучателя"),
        _NO_CONSIGNEE,
        other=(
            "route used by this consignee before",
            "грузополучатель уже получал грузы этим маршрутом",
        ),
    ),
    "consignee_past_inspections": _p(
        "count",
        ("consignee's past inspections", "прошлые досмотры грузополучателя"),
        (
            "consignee inspected {value} times before",
            "прошлых досмотров грузов грузополучателя: {value}",
        ),
        _NO_CONSIGNEE,
        other=("consignee never inspected before", "грузы грузополучателя ранее не досматривались"),
        one="consignee inspected once before",
    ),
    "shipper_past_inspections": _p(
        "count",
        ("shipper's past inspections", "прошлые досмотры грузоотправителя"),
        (
            "shipper inspected {value} times before",
            "прошлых досмотров грузов грузоотправителя: {value}",
        ),
        _NO_SHIPPER,
        other=("shipper never inspected before", "грузы грузоотправителя ранее не досматривались"),
        one="shipper inspected once before",
    ),
    "consignee_positive_rate": _p(
        "rate",
        ("consignee's past positive rate", "доля результативных досмотров грузополучателя"),
        (
            "consignee's past inspections positive at {value}",
            "доля результативных досмотров грузополучателя: {value}",
        ),
        _NO_CONSIGNEE,
    ),
    "shipper_positive_rate": _p(
        "rate",
        ("shipper's past positive rate", "доля результативных досмотров грузоотправителя"),
        (
            "shipper's past inspections positive at {value}",
            "доля результативных досмотров грузоотправителя: {value}",
        ),
        _NO_SHIPPER,
    ),
    "container_past_appearances_365d": _p(
        "count",
        ("container seen in a year", "контейнер за год"),
        ("container seen {value} times in a year", "контейнер встречался за год: {value}"),
        _NO_CONTAINER,
        other=("container not seen in the past year", "за год контейнер не встречался"),
        one="container seen once in a year",
    ),
    "container_prior_seizures": _p(
        "count",
        ("earlier seizures from the container", "прежние изъятия из контейнера"),
        (
            "{value} earlier seizures from this container",
            "прежних изъятий из этого контейнера: {value}",
        ),
        _NO_CONTAINER,
        other=(
            "no earlier seizure from this container",
            "изъятий из этого контейнера ранее не было",
        ),
        one="1 earlier seizure from this container",
    ),
    "watchlist_party_score": _p(
        "count",
        ("watchlist match", "совпадение со списком"),
        (
            "party name matches a watchlist ({value}/100)",
            "наименование стороны совпадает со списком ({value}/100)",
        ),
        ("party names not screened", "наименования сторон не проверены по спискам"),
    ),
    # --- codes
    "iso_type": _p(
        "code",
        ("ISO type", "тип ISO"),
        ("container type {value}", "тип контейнера {value}"),
        ("container type not declared", "тип контейнера не указан"),
    ),
    "bl_type": _p(
        "code",
        ("bill of lading type", "вид коносамента"),
        ("{value} bill of lading", "коносамент {value}"),
        ("bill of lading type not declared", "вид коносамента не указан"),
        values={"to_order": ("to order", "ордерный"), "straight": ("straight", "именной")},
    ),
    "freight_terms": _p(
        "code",
        ("freight terms", "условия оплаты фрахта"),
        ("freight {value}", "фрахт: {value}"),
        ("freight terms not declared", "условия оплаты фрахта не указаны"),
        values={
            "prepaid": ("prepaid", "оплачен заранее"),
            "collect": ("collect", "оплата в порту назначения"),
        },
    ),
    "freight_payment": _p(
        "code",
        ("freight payment", "оплата фрахта"),
        ("freight paid by {value}", "фрахт оплачен: {value}"),
        ("freight payment not declared", "способ оплаты фрахта не указан"),
        values={
            "cash": ("cash", "наличными"),
            "bank_transfer": ("bank transfer", "банковским переводом"),
            "account": ("account", "по счёту"),
        },
    ),
    "fcl_lcl": _p(
        "code",
        ("FCL / LCL", "FCL / LCL"),
        ("{value}", "{value}"),
        ("full or groupage load not declared", "вид загрузки не указан"),
        values={
            "FCL": ("full container load (FCL)", "полный контейнер (FCL)"),
            "LCL": ("groupage (LCL)", "сборный груз (LCL)"),
        },
    ),
    "port_of_loading": _p(
        "code",
        ("port of loading", "порт погрузки"),
        ("loaded at {value}", "порт погрузки {value}"),
        ("port of loading not declared", "порт погрузки не указан"),
    ),
    "port_of_loading_country": _p(
        "code",
        ("country of loading", "страна погрузки"),
        ("loaded in {value}", "страна погрузки {value}"),
        ("country of loading unknown", "страна погрузки неизвестна"),
    ),
    "port_of_discharge": _p(
        "code",
        ("port of discharge", "порт выгрузки"),
        ("discharged at {value}", "порт выгрузки {value}"),
        ("port of discharge not declared", "порт выгрузки не указан"),
    ),
    "origin_country": _p(
        "code",
        ("country of origin", "страна происхождения"),
        ("origin {value}", "страна происхождения {value}"),
        ("country of origin not declared", "страна происхождения не указана"),
    ),
    "shipper_country": _p(
        "code",
        ("shipper's country", "страна грузоотправителя"),
        ("shipper in {value}", "страна грузоотправителя {value}"),
        ("shipper's country not declared", "страна грузоотправителя не указана"),
    ),
    "consignee_country": _p(
        "code",
        ("consignee's country", "страна грузополучателя"),
        ("consignee in {value}", "страна грузополучателя {value}"),
        ("consignee's country not declared", "страна грузополучателя не указана"),
    ),
    "hs_chapter": _p(
        "code",
        ("HS chapter", "группа ТН ВЭД"),
        ("HS chapter {value}", "группа ТН ВЭД {value}"),
        ("HS code not declared", "код ТН ВЭД не указан"),
    ),
    "hs_heading": _p(
        "code",
        ("HS heading", "товарная позиция ТН ВЭД"),
        ("HS heading {value}", "товарная позиция ТН ВЭД {value}"),
        ("HS code not declared", "код ТН ВЭД не указан"),
    ),
    "carrier_scac": _p(
        "code",
        ("carrier SCAC", "код перевозчика (SCAC)"),
        ("carrier {value}", "перевозчик {value}"),
        ("carrier not declared", "перевозчик не указан"),
    ),
}


def words(name: str) -> str:
    """A field name as words, for a field the table does not know: ``Importer ID`` stays."""
    return name.replace("_", " ").strip()


def _value_text(value: pl.Expr, form: str, locale: str) -> pl.Expr:
    """A number as the phrase shows it, rounded for its form (null stays null)."""
    if form in ("days", "hours"):
        return value.floor().cast(pl.Int64).cast(pl.String)
    if form in ("count", "kg", "money"):
        return value.round(0).cast(pl.Int64).cast(pl.String)
    if form == "share":
        return share_text(value, locale)
    if form == "rate":
        return pl.concat_str(decimal_text(value.mul(100).round(1), locale), pl.lit(" %"))
    rounded = pl.when(value.abs() >= 100).then(value.round(0)).otherwise(value.round(2))
    return decimal_text(rounded, locale)


def phrase_expr(source: str, value: pl.Expr, locale: str, *, code: bool = False) -> pl.Expr:
    """The whole phrase for ``value`` (the feature's number, or its code text with ``code``)
    of field ``source`` in ``locale``: never null, never a raw field name or ``n/a``."""
    phrase = PHRASES.get(source)
    if phrase is None:
        text = value if code else decimal_text(value.round(2), locale)
        return pl.concat_str(pl.lit(words(source) + ": "), text).fill_null(
            pl.lit(words(source) + (": —"))
        )
    missing = pl.lit(phrase.missing.get(locale) or phrase.missing[DEFAULT_LOCALE])
    template = phrase.text.get(locale) or phrase.text[DEFAULT_LOCALE]
    other = phrase.other.get(locale) or phrase.other.get(DEFAULT_LOCALE)
    if phrase.form == "flag":
        flag = value.cast(pl.Boolean, strict=False) if not code else value == "true"
        return (
            pl.when(flag)
            .then(pl.lit(template))
            .when(flag.not_())
            .then(pl.lit(other or "not: " + template))
            .otherwise(missing)
        )
    if code or phrase.form == "code":
        shown = value.cast(pl.String)
        for raw, readings in phrase.values.items():
            reading = readings.get(locale) or readings[DEFAULT_LOCALE]
            shown = pl.when(value.cast(pl.String) == raw).then(pl.lit(reading)).otherwise(shown)
        shown = shown.str.replace_all("_", " ")
    else:
        shown = _value_text(value, phrase.form, locale)
    head, _, tail = template.partition("{value}")
    text = pl.concat_str(pl.lit(head), shown, pl.lit(tail))
    if one := phrase.one.get(locale):
        text = pl.when(value.round(0) == 1).then(pl.lit(one)).otherwise(text)
    if other and phrase.form in ("count", "share"):
        text = pl.when(value == 0).then(pl.lit(other)).otherwise(text)
    return pl.when(value.is_null()).then(missing).otherwise(text)
