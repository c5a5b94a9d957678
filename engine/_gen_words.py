"""Word lists and curated tables the demo data generator composes its records from.

Everything here is plain data. Port codes are real UN/LOCODEs and are checked against the
shipped seaport table when the generator starts (a code missing there is a programming
error, reported as :class:`engine.errors.ReferenceDataError`). HS codes are real HS 2022
subheadings, checked the same way.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------
# Ports. Weights are relative shares of the unit's inbound traffic by port of loading.
# --------------------------------------------------------------------------------------
LOADING_PORTS: dict[str, float] = {
    # China and East Asia: the bulk of Central Asian imports
    "CNSGH": 9.0, "CNNBO": 7.0, "CNSNZ": 5.0, "CNQIN": 4.0, "CNTXG": 4.0, "CNXAM": 2.0,
    "CNDAL": 1.5, "CNLYG": 2.0, "HKHKG": 1.5, "KRPUS": 4.0, "KRINC": 1.0, "JPYOK": 1.0,
    "TWKHH": 1.0, "SGSIN": 2.0, "MYPKG": 1.5, "MYTPP": 0.5, "VNSGN": 2.0, "VNHPH": 1.0,
    "THLCH": 1.5, "IDJKT": 1.0, "PHMNL": 0.3,
    # South Asia and the Gulf
    "INNSA": 4.0, "INMUN": 3.0, "INMAA": 1.0, "PKKHI": 1.0, "LKCMB": 0.5, "BDCGP": 0.5,
    "AEJEA": 4.0, "OMSLL": 0.5, "SAJED": 0.5,
    # Turkey, the Black Sea and the Mediterranean
    "TRMER": 4.0, "TRAMR": 3.0, "TRIST": 1.0, "GRPIR": 1.0, "EGPSD": 0.5, "EGALY": 0.5,
    "ITGOA": 1.5, "ITSPE": 0.5, "ESVLC": 2.0, "ESBCN": 1.0, "FRFOS": 0.5, "SIKOP": 0.5,
    "ROCND": 0.5, "BGVAR": 0.3, "UAODS": 0.3,
    # Northern Europe
    "NLRTM": 4.0, "BEANR": 3.0, "DEHAM": 3.0, "FRLEH": 1.0, "GBFXT": 1.0, "PLGDN": 1.0,
    # Americas and Africa (perishables, coffee, meat, cotton)
    "USNYC": 0.5, "USSAV": 0.5, "USHOU": 0.3, "USLAX": 0.3, "CAVAN": 0.2, "MXVER": 0.2,
    "BRSSZ": 1.0, "ARBUE": 0.3, "UYMVD": 0.2, "CLSAI": 0.2, "CLVAP": 0.2,
    "ECGYE": 0.6, "COBUN": 0.3, "COCTG": 0.3, "PECLL": 0.3, "PAONX": 0.2, "CRMOB": 0.2,
    "ZADUR": 0.2, "KEMBA": 0.1, "TZDAR": 0.1, "MAPTM": 0.2,
}

# Share of base traffic loaded at a port drawn from the whole seaport table (long tail).
LONG_TAIL_SHARE = 0.02

# Consignee countries of the demo unit (a Central Asia / Caucasus PCU) and their share.
CONSIGNEE_COUNTRIES: dict[str, float] = {
    "UZ": 0.26, "KZ": 0.18, "GE": 0.12, "AZ": 0.10, "KG": 0.08, "TJ": 0.06, "TM": 0.06,
    "PK": 0.06, "TR": 0.05, "AF": 0.03,
}

# Gateway seaports each consignee country receives through (landlocked countries included).
DISCHARGE_BY_COUNTRY: dict[str, dict[str, float]] = {
    "UZ": {"GEPTI": 0.35, "GEBUS": 0.10, "TRMER": 0.10, "IRBND": 0.15, "PKKHI": 0.05,
           "CNLYG": 0.10, "RUNVS": 0.10, "KZAAU": 0.05},
    "KZ": {"KZAAU": 0.20, "CNLYG": 0.30, "RUNVS": 0.15, "GEPTI": 0.15, "RULED": 0.10,
           "TRMER": 0.10},
    "KG": {"CNLYG": 0.30, "IRBND": 0.20, "GEPTI": 0.20, "PKKHI": 0.10, "RUNVS": 0.20},
    "TJ": {"IRBND": 0.35, "PKKHI": 0.25, "GEPTI": 0.20, "CNLYG": 0.20},
    "TM": {"TMKRW": 0.40, "IRBND": 0.30, "GEPTI": 0.20, "TRMER": 0.10},
    "AZ": {"GEPTI": 0.45, "GEBUS": 0.20, "AZBAK": 0.10, "TRMER": 0.15, "RUNVS": 0.10},
    "GE": {"GEPTI": 0.70, "GEBUS": 0.30},
    "TR": {"TRMER": 1.00},
    "PK": {"PKKHI": 0.70, "PKBQM": 0.30},
    "AF": {"PKKHI": 0.50, "IRBND": 0.35, "PKBQM": 0.15},
}

# Places of delivery (inland UN/LOCODEs, not seaports) with the city used in addresses.
DELIVERY_PLACES: dict[str, list[tuple[str, str, float]]] = {
    "UZ": [("UZTAS", "TASHKENT", 0.70), ("UZSKD", "SAMARKAND", 0.20), ("UZBHK", "BUKHARA", 0.10)],
    "KZ": [("KZALA", "ALMATY", 0.60), ("KZNQZ", "ASTANA", 0.25), ("KZCIT", "SHYMKENT", 0.15)],
    "KG": [("KGFRU", "BISHKEK", 0.80), ("KGOSS", "OSH", 0.20)],
    "TJ": [("TJDYU", "DUSHANBE", 0.75), ("TJLBD", "KHUJAND", 0.25)],
    "TM": [("TMASB", "ASHGABAT", 1.00)],
    "AZ": [("AZBAK", "BAKU", 0.85), ("AZGNJ", "GANJA", 0.15)],
    "GE": [("GETBS", "TBILISI", 0.70), ("GEPTI", "POTI", 0.20), ("GEBUS", "BATUMI", 0.10)],
    "TR": [("TRMER", "MERSIN", 0.60), ("TRADA", "ADANA", 0.40)],
    "PK": [("PKKHI", "KARACHI", 0.60), ("PKLHE", "LAHORE", 0.40)],
    "AF": [("AFKBL", "KABUL", 1.00)],
}

# Which sea a discharge port lies on decides the hubs used for the last transshipment.
DISCHARGE_SEA: dict[str, str] = {
    "GEPTI": "black", "GEBUS": "black", "TRMER": "black", "RUNVS": "black",
    "IRBND": "gulf", "PKKHI": "gulf", "PKBQM": "gulf",
    "RULED": "baltic", "KZAAU": "caspian", "TMKRW": "caspian", "AZBAK": "caspian",
    "CNLYG": "china",
}
DESTINATION_HUBS: dict[str, list[str]] = {
    "black": ["TRAMR", "GRPIR", "EGPSD", "MTMAR", "ITGIT"],
    "gulf": ["AEJEA", "OMSLL", "LKCMB", "SGSIN"],
    "baltic": ["DEHAM", "NLRTM", "BEANR"],
    "caspian": ["IRAMD", "AZALA", "RUMCX"],
    "china": ["KRPUS", "SGSIN", "HKHKG"],
}
# First transshipment (near the origin), keyed by UN M49 sub-region name.
ORIGIN_HUBS: dict[str, list[str]] = {
    "Eastern Asia": ["SGSIN", "KRPUS", "HKHKG", "MYTPP"],
    "South-eastern Asia": ["SGSIN", "MYPKG", "MYTPP"],
    "Southern Asia": ["LKCMB", "AEJEA", "INMUN"],
    "Western Asia": ["AEJEA", "TRAMR", "OMSLL"],
    "Northern Europe": ["NLRTM", "BEANR", "DEHAM"],
    "Western Europe": ["NLRTM", "BEANR", "DEHAM"],
    "Southern Europe": ["GRPIR", "ESVLC", "ITGIT", "MTMAR"],
    "Eastern Europe": ["GRPIR", "TRAMR"],
    "Northern America": ["ESALG", "MAPTM", "ESVLC"],
    "Latin America and the Caribbean": ["PAMIT", "PABLB", "ESALG", "MAPTM", "COCTG"],
    "Northern Africa": ["MAPTM", "EGPSD"],
    "Sub-Saharan Africa": ["MAPTM", "ZADUR", "OMSLL"],
}

# Cocaine typology: source ports and the hubs the loads are routed through.
COCAINE_SOURCE_PORTS: dict[str, float] = {
    "ECGYE": 0.30, "COBUN": 0.15, "COCTG": 0.12, "PECLL": 0.10, "BRSSZ": 0.15, "PAONX": 0.08,
    "CRMOB": 0.05, "PABLB": 0.05,
}
COCAINE_HUBS: list[str] = ["ESALG", "PAMIT", "MAPTM", "BEANR", "NLRTM", "ESVLC", "GRPIR"]
PRECURSOR_PORTS: dict[str, float] = {
    "CNTXG": 0.25, "CNSGH": 0.20, "CNNBO": 0.15, "INNSA": 0.25, "INMUN": 0.15,
}

# --------------------------------------------------------------------------------------
# Goods. Relative share of each HS chapter in the unit's inbound mix and the packaging
# profile of the chapter: (kg per package, USD per kg, package type code, equipment profile)
# --------------------------------------------------------------------------------------
CHAPTER_MIX: dict[str, float] = {
    "84": 9.0, "85": 9.0, "87": 5.0, "39": 6.0, "73": 4.0, "72": 3.5, "94": 3.5, "40": 2.5,
    "61": 2.0, "62": 2.0, "63": 1.0, "52": 1.5, "54": 1.5, "55": 1.0, "64": 2.0, "95": 1.5,
    "08": 3.0, "07": 1.5, "09": 1.5, "03": 1.0, "02": 1.5, "04": 1.0, "15": 1.5, "17": 1.5,
    "18": 0.7, "19": 1.0, "20": 1.0, "21": 1.0, "22": 1.0, "10": 1.0, "24": 0.3,
    "28": 1.0, "29": 1.5, "32": 1.0, "33": 1.5, "34": 1.0, "38": 1.5, "30": 1.5, "31": 1.0,
    "48": 2.0, "44": 1.0, "69": 1.5, "70": 1.5, "76": 1.0, "82": 1.0, "83": 1.0, "90": 1.0,
    "27": 0.5, "25": 0.5, "96": 0.5, "42": 0.5, "56": 0.3, "68": 0.5,
}

# kg/package, USD/kg, package type (UN/ECE Rec. 21 code), equipment profile
CHAPTER_PROFILE: dict[str, tuple[float, float, str, str]] = {
    "02": (25.0, 4.0, "CT", "reefer"), "03": (20.0, 6.0, "CT", "reefer"),
    "04": (25.0, 3.5, "BG", "reefer"), "07": (20.0, 1.0, "CT", "reefer"),
    "08": (18.0, 1.2, "CT", "reefer"), "09": (60.0, 4.0, "BG", "heavy"),
    "10": (50.0, 0.5, "BG", "heavy"), "15": (900.0, 1.2, "IB", "liquid"),
    "17": (50.0, 0.5, "BG", "heavy"), "18": (20.0, 5.0, "CT", "light"),
    "19": (12.0, 2.5, "CT", "light"), "20": (15.0, 2.0, "CT", "heavy"),
    "21": (15.0, 3.0, "CT", "light"), "22": (15.0, 2.0, "CT", "heavy"),
    "24": (20.0, 20.0, "CT", "light"), "25": (1000.0, 0.1, "JB", "heavy"),
    "27": (200.0, 1.0, "DR", "liquid"), "28": (25.0, 1.0, "BG", "heavy"),
    "29": (200.0, 2.5, "DR", "heavy"), "30": (10.0, 60.0, "CT", "light"),
    "31": (50.0, 0.4, "BG", "heavy"), "32": (20.0, 3.0, "DR", "heavy"),
    "33": (10.0, 10.0, "CT", "light"), "34": (20.0, 1.5, "CT", "heavy"),
    "38": (25.0, 2.5, "DR", "heavy"), "39": (25.0, 1.6, "BG", "heavy"),
    "40": (12.0, 3.0, "PK", "light"), "42": (10.0, 15.0, "CT", "light"),
    "44": (1200.0, 0.6, "BE", "heavy"), "48": (500.0, 1.0, "RL", "heavy"),
    "52": (220.0, 3.0, "BL", "heavy"), "54": (25.0, 3.5, "CT", "light"),
    "55": (25.0, 3.0, "CT", "light"), "56": (20.0, 3.0, "RL", "light"),
    "61": (12.0, 15.0, "CT", "light"), "62": (12.0, 15.0, "CT", "light"),
    "63": (15.0, 6.0, "BL", "light"), "64": (10.0, 18.0, "CT", "light"),
    "68": (40.0, 0.8, "PX", "heavy"), "69": (30.0, 0.8, "PX", "heavy"),
    "70": (40.0, 1.5, "PX", "heavy"), "72": (2000.0, 0.9, "CO", "heavy"),
    "73": (150.0, 2.0, "BE", "heavy"), "76": (500.0, 3.0, "BE", "heavy"),
    "82": (15.0, 8.0, "CT", "heavy"), "83": (15.0, 6.0, "CT", "heavy"),
    "84": (300.0, 12.0, "CS", "machinery"), "85": (15.0, 40.0, "CT", "light"),
    "87": (100.0, 8.0, "CS", "machinery"), "90": (10.0, 60.0, "CT", "light"),
    "94": (30.0, 4.0, "CT", "light"), "95": (8.0, 6.0, "CT", "light"),
    "96": (10.0, 5.0, "CT", "light"),
}

# What exporters in some origin countries mostly ship (HS 2022 subheading: weight). Legit
# banana reefers from Guayaquil are common, which is what makes cocaine loads hard to find.
ORIGIN_GOODS: dict[str, dict[str, float]] = {
    "EC": {"080390": 0.55, "030617": 0.20, "060311": 0.10, "180100": 0.08, "160414": 0.07},
    "CO": {"090111": 0.40, "080390": 0.35, "060311": 0.25},
    "PE": {"080440": 0.35, "080610": 0.25, "080450": 0.20, "070920": 0.20},
    "CR": {"080390": 0.55, "080430": 0.45},
    "PA": {"080390": 0.70, "030617": 0.30},
    "BR": {"090111": 0.30, "020230": 0.25, "020714": 0.20, "170114": 0.15, "120190": 0.10},
    "AR": {"020230": 0.60, "220421": 0.40},
    "UY": {"020230": 1.00},
    "CL": {"220421": 0.40, "080929": 0.30, "030441": 0.30},
}
ORIGIN_GOODS_SHARE = 0.85

# Equipment profile -> (ISO 6346 size/type codes, weights, median cargo kg, sigma)
EQUIPMENT: dict[str, tuple[list[str], list[float], float]] = {
    "reefer": (["45R1", "22R1", "42R1"], [0.75, 0.15, 0.10], 21000.0),
    "heavy": (["22G1", "42G1", "22U1"], [0.70, 0.25, 0.05], 19500.0),
    "light": (["45G1", "42G1", "22G1"], [0.60, 0.30, 0.10], 7000.0),
    "liquid": (["22T1", "22G1"], [0.50, 0.50], 20000.0),
    "machinery": (["42U1", "45G1", "42G1", "22G1", "42P1"], [0.15, 0.30, 0.30, 0.15, 0.10],
                  11000.0),
}
TARE_KG: dict[str, float] = {"2": 2250.0, "4": 3800.0}
MAX_PAYLOAD_KG: dict[str, float] = {"2": 28000.0, "4": 28500.0}

# Dangerous goods: UN numbers typical of a chapter (drawn for ~30 % of its rows).
DG_BY_CHAPTER: dict[str, list[str]] = {
    "27": ["1202", "1268", "3082"], "28": ["1789", "1830", "1823", "3077"],
    "29": ["1090", "1219", "1170", "2789", "1993"], "32": ["1263", "1210"],
    "33": ["1266", "1950"], "34": ["1950", "3082"], "38": ["3082", "3077", "1993"],
    "36": ["0336"],
}

VAGUE_DESCRIPTIONS: list[str] = [
    "FAK", "GENERAL CARGO", "STC SPARE PARTS", "SAID TO CONTAIN: VARIOUS GOODS",
    "CONSOLIDATED CARGO", "MIXED GOODS", "PERSONAL EFFECTS", "SAMPLES", "SPARE PARTS",
    "GOODS AS PER INVOICE", "STC: HOUSEHOLD ITEMS", "FREIGHT ALL KINDS",
]
DESCRIPTION_PREFIXES: list[str] = ["", "", "", "", "STC ", "SAID TO CONTAIN ", "1X40 STC "]

# Precursor chemicals: HS codes declared truthfully, and the benign codes used to hide them.
PRECURSOR_TRUE: dict[str, tuple[str, str]] = {
    "291524": ("ACETIC ANHYDRIDE", "1715"),
    "291634": ("PHENYLACETIC ACID", ""),
    "291431": ("PHENYLACETONE (1-PHENYL-2-PROPANONE)", ""),
    "293292": ("3,4-METHYLENEDIOXYPHENYL-2-PROPANONE", ""),
    "293941": ("EPHEDRINE HYDROCHLORIDE", ""),
    "284161": ("POTASSIUM PERMANGANATE", "1490"),
}
PRECURSOR_COVER: dict[str, str] = {
    "382499": "CHEMICAL PREPARATION FOR TEXTILE INDUSTRY",
    "340250": "INDUSTRIAL CLEANING AGENT",
    "291521": "ACETIC ACID SOLUTION",
    "320890": "PAINT THINNER",
    "291529": "ACETATE SALTS",
}
# Cocaine typology: cover loads in reefers from the source ports.
COCAINE_COVER_HS: list[str] = ["080390", "080440", "030617", "080450", "060311", "071080"]

# Positive findings the typologies lead to when the container is opened.
TYPOLOGY_FINDINGS: dict[str, list[tuple[str, float]]] = {
    "cocaine_reefer": [("drugs", 1.0)],
    "precursor_chemicals": [("precursors", 1.0)],
    "front_company": [("drugs", 0.35), ("tobacco", 0.25), ("counterfeit", 0.25),
                      ("weapons", 0.15)],
    "weight_anomaly": [("revenue", 0.45), ("tobacco", 0.30), ("counterfeit", 0.25)],
    "cash_to_order": [("tobacco", 0.40), ("counterfeit", 0.35), ("drugs", 0.25)],
    "late_amendment": [("drugs", 0.45), ("weapons", 0.25), ("counterfeit", 0.30)],
    "vague_high_value": [("counterfeit", 0.55), ("revenue", 0.45)],
    "sanctioned_lookalike": [("weapons", 0.55), ("revenue", 0.45)],
    "undervaluation": [("revenue", 1.0)],
}
# Findings on containers nobody planted anything in (random irregularities).
CLEAN_FINDINGS: list[tuple[str, float]] = [
    ("revenue", 0.60), ("counterfeit", 0.20), ("tobacco", 0.10), ("wildlife", 0.05),
    ("weapons", 0.05),
]

# --------------------------------------------------------------------------------------
# Parties
# --------------------------------------------------------------------------------------
STEMS_GENERIC: list[str] = [
    "ORIENT", "GLOBAL", "EURASIA", "SILK ROAD", "CASPIAN", "NOVA", "ATLAS", "UNITED", "PRIME",
    "STAR", "GOLDEN GATE", "GREEN LINE", "BLUE OCEAN", "ALFA", "OMEGA", "DELTA", "VECTOR",
    "MERIDIAN", "HORIZON", "PACIFIC", "CONTINENTAL", "ROYAL", "SUMMIT", "PIONEER", "UNION",
    "CROWN", "EAGLE", "PHOENIX", "APEX", "ZENITH", "TRIDENT", "AURORA", "LOTUS", "CEDAR",
    "SAPPHIRE", "INTERLINK", "TRANSCOM", "MEGA", "EUROSTAR", "ASIA PACIFIC", "BRIGHT",
    "SUNRISE", "NORTHWIND", "KEYSTONE", "EVEREST", "TITAN", "SPECTRUM", "FORTUNA", "VISTA",
    "AMBER", "COBALT", "SILVERLINE", "NEXUS", "POLARIS", "UNIVERSAL", "METRO", "ELITE",
]
STEMS_CENTRAL_ASIA: list[str] = [
    "ALTYN", "SAMARKAND", "TURON", "NURLY", "ARMAN", "ASTANA", "KAZYNA", "DOSTYK", "ORDA",
    "SHYM", "TEMIR", "AK ZHOL", "BEREKE", "ZHETYSU", "TULPAR", "SULTAN", "UMID", "BARAKA",
    "MEHNAT", "ZAMON", "OLTIN", "IPAK YULI", "SARBON", "NUR", "KOK TOBE", "ALA-TOO",
    "MANAS", "ISSYK", "PAMIR", "SOMON", "ZARAFSHON", "KHATLON", "VATAN", "AMUDARYA",
    "GARAGUM", "BERKARAR", "AHAL", "ABSHERON", "KHAZAR", "GANJA", "ARAZ", "KOLKHETI",
    "IBERIA", "RUSTAVI", "KARTLI", "TBILISI", "ARAGVI", "ANATOLIA", "TOROS", "AKDENIZ",
    "YILDIZ", "KARVON", "SHIFO", "ASR", "NAVRUZ", "FARGONA", "KOKAND", "TURAN",
]
STEMS_CHINESE: list[str] = [
    "XINDA", "HENGTAI", "JINHUA", "HUAXIN", "ZHONGDA", "TIANLI", "HONGYUAN", "YONGSHENG",
    "DAXIN", "RUIFENG", "JIAHE", "SHENGDA", "HAIXING", "LONGTENG", "BAOLI", "FUDA",
    "KANGDA", "XINGHUA", "MINGYANG", "HUAYU", "JINLONG", "TAIHE", "HENGXIN", "ZHENGTAI",
    "DONGFANG", "YUANDA", "XINYI", "HUARUN", "GUANGDA", "WANFENG",
]
STEMS_LATIN: list[str] = [
    "AGRO", "FRUTAS DEL", "EXPORTADORA", "SAN", "LOS ANDES", "PACIFICO", "ECUABAN", "TROPICAL",
    "BANANERA", "CAFETERA", "LA COSTA", "EL VALLE", "SOL", "AMAZONAS", "MONTANA", "PRIMAVERA",
    "CORDILLERA", "AGROPECUARIA", "DEL MAR", "ANDINA",
]
INDUSTRY_WORDS: list[str] = [
    "TRADING", "IMPORT EXPORT", "LOGISTICS", "INDUSTRIAL", "TEXTILE", "FOODS", "CHEMICALS",
    "MACHINERY", "ELECTRONICS", "AGRO", "GROUP", "INTERNATIONAL", "HOLDING", "SUPPLY",
    "COMMERCE", "DISTRIBUTION", "MANUFACTURING", "ENTERPRISES", "TECHNOLOGY", "STEEL",
]
LEGAL_FORMS: dict[str, list[str]] = {
    "UZ": ["MCHJ", "OOO", "LLC", "JSC", "XK"], "KZ": ["TOO", "LLP", "JSC", "AO"],
    "KG": ["OSOO", "LLC", "OAO"], "TJ": ["LLC", "JSC", "CJSC"], "TM": ["HJ", "LLC", "HK"],
    "AZ": ["MMC", "LLC", "ASC"], "GE": ["LLC", "JSC", "SHPS"], "TR": ["A.S.", "LTD. STI."],
    "PK": ["(PVT) LTD", "LTD"], "AF": ["LTD", "CO."], "CN": ["CO., LTD.", "CO.,LTD"],
    "HK": ["LIMITED", "CO., LTD."], "TW": ["CO., LTD."], "KR": ["CO., LTD.", "CORP."],
    "JP": ["CO., LTD.", "K.K."], "DE": ["GMBH", "AG", "GMBH & CO. KG"], "NL": ["B.V.", "N.V."],
    "BE": ["NV", "BV"], "ES": ["S.L.", "S.A."], "IT": ["S.R.L.", "S.P.A."], "FR": ["SAS", "SARL"],
    "GB": ["LTD", "PLC"], "PL": ["SP. Z O.O."], "GR": ["S.A."], "RO": ["SRL"], "BG": ["EOOD"],
    "UA": ["TOV", "LLC"], "SI": ["D.O.O."], "IN": ["PVT LTD", "LIMITED"], "LK": ["(PVT) LTD"],
    "BD": ["LTD"], "AE": ["LLC", "FZE", "FZCO", "TRADING LLC"], "OM": ["LLC", "SAOC"],
    "SA": ["CO.", "LLC"], "EG": ["S.A.E."], "SG": ["PTE LTD"], "MY": ["SDN BHD"],
    "VN": ["CO., LTD", "JSC"], "TH": ["CO., LTD."], "ID": ["PT", "TBK"], "PH": ["INC."],
    "US": ["INC", "LLC", "CORP"], "CA": ["INC", "LTD"], "MX": ["S.A. DE C.V."],
    "BR": ["LTDA", "S.A."], "AR": ["S.A.", "S.R.L."], "UY": ["S.A."], "CL": ["S.A.", "SPA"],
    "EC": ["S.A.", "CIA. LTDA."], "CO": ["S.A.S.", "S.A."], "PE": ["S.A.C.", "S.A."],
    "PA": ["S.A.", "INC."], "CR": ["S.A."], "ZA": ["(PTY) LTD"], "KE": ["LTD"], "TZ": ["LTD"],
    "MA": ["SARL", "S.A."], "RU": ["OOO", "AO"], "IR": ["CO.", "PJS"],
}
DEFAULT_LEGAL_FORMS: list[str] = ["LTD", "CO.", "LLC"]
STREETS_BY_COUNTRY: dict[str, list[str]] = {
    "UZ": ["AMIR TEMUR KOCHASI", "NAVOI KOCHASI", "MUSTAQILLIK SHOH KOCHASI", "BOBUR KOCHASI",
           "SHOTA RUSTAVELI KOCHASI", "LABZAK KOCHASI", "SANOAT ZONASI"],
    "KZ": ["ABAY AVE", "DOSTYK AVE", "AL-FARABI AVE", "RAIYMBEK AVE", "TOLE BI STR",
           "SEIFULLIN STR", "KABANBAY BATYR AVE"],
    "KG": ["CHUI AVE", "MANAS AVE", "ISSYK-KUL STR", "ZHIBEK ZHOLU AVE", "SOVETSKAYA STR"],
    "TJ": ["RUDAKI AVE", "ISMOILI SOMONI AVE", "AINI STR", "SHOTEMUR STR"],
    "TM": ["MAGTYMGULY AVE", "ATATURK STR", "BITARAPLYK AVE", "OGUZHAN STR"],
    "AZ": ["NIZAMI STR", "NEFTCHILAR AVE", "HEYDAR ALIYEV AVE", "BUL-BUL AVE"],
    "GE": ["RUSTAVELI AVE", "AGMASHENEBELI AVE", "CHAVCHAVADZE AVE", "DAVIT AGMASHENEBELI STR"],
    "TR": ["ATATURK CAD.", "ISTIKLAL CAD.", "CUMHURIYET BULVARI", "ORGANIZE SANAYI BOLGESI"],
    "PK": ["SHAHRAH-E-FAISAL", "I.I. CHUNDRIGAR ROAD", "MALL ROAD", "KORANGI INDUSTRIAL AREA"],
    "AF": ["DARULAMAN ROAD", "SHAHR-E NAW", "JADA-E MAIWAND"],
    "CN": ["ZHONGSHAN RD", "RENMIN RD", "JIANGNAN AVE", "HAIGANG RD", "JINQIAO RD",
           "XINGHUO INDUSTRIAL PARK", "HIGH-TECH ZONE"],
}
STREETS_GENERIC: list[str] = [
    "HARBOUR ROAD", "INDUSTRIAL ZONE", "MAIN STREET", "PORT AVENUE", "COMMERCE STREET",
    "LOGISTICS PARK", "FREE ZONE", "CENTRAL AVENUE", "RIVERSIDE DRIVE", "BUSINESS PARK",
]
PLACEHOLDER_NOTIFY: list[str] = ["SAME AS CONSIGNEE", "SAME AS ABOVE", "N/A", "TO ORDER", "-"]
BANKS: list[str] = [
    "NATIONAL BANK OF UZBEKISTAN", "HALYK BANK", "KASPI BANK", "TBC BANK", "BANK OF GEORGIA",
    "KAPITALBANK", "DEMIR BANK", "AYIL BANK", "ESKHATA BANK", "PASHA BANK", "ZIRAAT BANKASI",
    "HABIB BANK LIMITED", "SHAHR BANK",
]
FORWARDER_STEMS: list[str] = [
    "TRANS", "CARGO", "FREIGHT", "EXPRESS", "LINE", "SHIPPING", "FORWARDING", "LOGISTIC",
]

# Sanctioned-party look-alikes: names invented for the demo, used only when the shipped UN
# list (engine/watchlists) is absent; see engine/_gen_watchlist.py.
DEMO_WATCHLIST_NAMES: list[str] = [
    "NORTHERN STAR DEFENCE TRADING LLC", "BLACK DESERT ARMS SUPPLY LLC",
    "HAPPY DAWN LOGISTICS LIMITED", "SILVER CRANE MARITIME COMPANY",
    "RED LOTUS TECHNOLOGY IMPORT CORPORATION", "EASTERN HORIZON DUAL USE TRADING LTD",
    "IRON GATE PRECISION INDUSTRY CORPORATION", "GOLDEN BRIDGE PETROCHEMICAL TRADING LLC",
]

# --------------------------------------------------------------------------------------
# Carriers: SCAC, vessel name style, container owner prefixes, share of the unit's traffic
# --------------------------------------------------------------------------------------
CARRIERS: list[tuple[str, str, list[str], float]] = [
    ("MSCU", "MSC", ["MSCU", "MEDU", "MSDU", "MSMU"], 0.22),
    ("MAEU", "MAERSK", ["MSKU", "MRKU", "MAEU", "MRSU"], 0.14),
    ("CMDU", "CMA CGM", ["CMAU", "CGMU", "APZU", "TGHU"], 0.12),
    ("COSU", "COSCO SHIPPING", ["CSNU", "CBHU", "CCLU", "FCIU"], 0.12),
    ("HLCU", "HAPAG", ["HLXU", "HLBU", "HAMU", "UACU"], 0.08),
    ("ONEY", "ONE", ["ONEU", "NYKU", "TCLU"], 0.06),
    ("EGLV", "EVER", ["EGHU", "EISU", "EMCU"], 0.07),
    ("YMLU", "YM", ["YMLU", "YMMU"], 0.03),
    ("HDMU", "HMM", ["HDMU", "KOCU"], 0.03),
    ("ZIMU", "ZIM", ["ZIMU", "ZCSU", "JXLU"], 0.04),
    ("ARKU", "ARKAS", ["ARKU", "TRLU"], 0.05),
    ("SMLM", "SM", ["SMCU", "SEGU"], 0.04),
]
LESSOR_PREFIXES: list[str] = ["TGHU", "TCLU", "TRLU", "SEGU", "GESU", "FCIU", "CAIU", "TEMU",
                              "BMOU", "DFSU", "TCNU", "BSIU"]
VESSEL_WORDS: list[str] = [
    "AURORA", "ISABELLA", "SOFIA", "CHIARA", "ANNA", "VALENCIA", "ORION", "PEGASUS", "HARMONY",
    "SERENITY", "VICTORY", "FORTUNE", "HORIZON", "EMERALD", "PEARL", "GLORY", "SPIRIT",
    "PIONEER", "TRIUMPH", "ENDEAVOUR", "VOYAGER", "GENOA", "ISTANBUL", "SHANGHAI", "BUSAN",
    "ROTTERDAM", "HAMBURG", "ANTWERP", "SINGAPORE", "TAIPEI", "KAOHSIUNG", "VENICE",
    "LISBON", "ATHENS", "DUBAI", "MUMBAI", "POTI", "BATUMI", "MERSIN", "IZMIR",
]
