"""The demo program: a four-day global conference on ending child labour.

``demo_schedule`` returns it as a schedule document in the pretalx/frab
"schedule JSON" format (the ``schedule`` object of the c3voc schema), with the
Sidestage extension under ``conference.meta.sidestage``: languages,
organizations and, per session, kind, visibility, capacity, host and
translations. Day 1 is virtual (an opening dialogue and a marathon of 15
partner-led side events); days 2 to 4 are in person.

Everything is fictional: organizations, people and ``.invalid`` addresses.
Guids are ``uuid5`` of fixed keys, so every call returns the same guids.
"""

import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

NAMESPACE = uuid.UUID("e5c7246f-eed2-4e97-917d-81365a1f2719")
TIME_ZONE_NAME = "Africa/Casablanca"
TIME_ZONE = ZoneInfo(TIME_ZONE_NAME)
BASE_URL = "https://demo.sidestage.invalid/"
# The c3voc schema's acronym pattern rejects a hyphen after the first character.
ACRONYM = "endcl_demo"
LANGUAGES = ("en", "ar", "fr", "es")
DAY_START = time(8, 0)
DAY_END = time(21, 0)

TITLE = "Global Conference on Ending Child Labour"
TITLE_TRANSLATIONS: Mapping[str, str] = {
    "ar": "المؤتمر العالمي للقضاء على عمل الأطفال",
    "fr": "Conférence mondiale pour l'élimination du travail des enfants",
    "es": "Conferencia Mundial para la Eliminación del Trabajo Infantil",
}


class Room(NamedTuple):
    name: str
    type: str
    capacity: int | None


class Track(NamedTuple):
    name: str
    slug: str
    color: str


class Organization(NamedTuple):
    slug: str
    name: str
    translations: Mapping[str, str]


class Person(NamedTuple):
    name: str
    biography: str


class Session(NamedTuple):
    slug: str
    kind: str
    track: str
    day: int
    room: str
    start: str
    duration: str
    languages: tuple[str, ...]
    visibility: str
    capacity: int | None
    host: str | None
    speakers: tuple[str, ...]
    title: Mapping[str, str]
    abstract: str
    abstract_ar: str
    details: str


ROOMS: tuple[Room, ...] = (
    Room("Virtual plenary", "online", 5000),
    Room("Side room A", "online", 1000),
    Room("Side room B", "online", 1000),
    Room("Side room C", "online", 1000),
    Room("Plenary hall", "lecturehall", 1500),
    Room("Room 1", "lecturehall", 400),
    Room("Room 2", "lecturehall", 250),
    Room("Room 3", "workshop", 80),
    Room("Innovation fair", "project", None),
)

HIGH_LEVEL = "High-level segment"
MARATHON = "Partner marathon"
SCALING = "Scaling solutions"
EMERGING = "Emerging challenges"
HORIZONS = "Future horizons"
FAIR = "Innovation fair"

TRACKS: tuple[Track, ...] = (
    Track(HIGH_LEVEL, "high-level-segment", "#1f4e79"),
    Track(MARATHON, "partner-marathon", "#b5523b"),
    Track(SCALING, "scaling-solutions", "#2e7d32"),
    Track(EMERGING, "emerging-challenges", "#d9730d"),
    Track(HORIZONS, "future-horizons", "#6a1b9a"),
    Track(FAIR, "innovation-fair", "#00838f"),
)

ORGANIZATIONS: tuple[Organization, ...] = (
    Organization(
        "sahel-maghreb-labour-ministries",
        "Sahel and Maghreb Labour Ministries Network",
        {
            "ar": "شبكة وزارات العمل في الساحل والمغرب العربي",
            "fr": "Réseau des ministères du Travail du Sahel et du Maghreb",
            "es": "Red de Ministerios de Trabajo del Sahel y el Magreb",
        },
    ),
    Organization(
        "child-labour-data-centre",
        "Centre for Child Labour Data and Evidence",
        {
            "ar": "مركز البيانات والأدلة بشأن عمل الأطفال",
            "fr": "Centre de données et de preuves sur le travail des enfants",
            "es": "Centro de Datos y Evidencia sobre Trabajo Infantil",
        },
    ),
    Organization(
        "climate-rural-livelihoods-institute",
        "Institute for Climate and Rural Livelihoods",
        {
            "ar": "معهد المناخ وسبل العيش الريفية",
            "fr": "Institut pour le climat et les moyens d'existence ruraux",
            "es": "Instituto de Clima y Medios de Vida Rurales",
        },
    ),
    Organization(
        "childhood-first-international",
        "Childhood First International",
        {
            "ar": "منظمة الطفولة أولاً الدولية",
            "fr": "Enfance d'abord International",
            "es": "Infancia Primero Internacional",
        },
    ),
    Organization(
        "global-social-protection-partnership",
        "Global Social Protection Partnership",
        {
            "ar": "الشراكة العالمية للحماية الاجتماعية",
            "fr": "Partenariat mondial pour la protection sociale",
            "es": "Alianza Mundial para la Protección Social",
        },
    ),
    Organization(
        "african-youth-network",
        "African Youth Network Against Child Labour",
        {
            "ar": "شبكة الشباب الإفريقي لمناهضة عمل الأطفال",
            "fr": "Réseau africain des jeunes contre le travail des enfants",
            "es": "Red Africana de Jóvenes contra el Trabajo Infantil",
        },
    ),
    Organization(
        "safe-passage-childrens-relief",
        "Safe Passage Children's Relief",
        {
            "ar": "منظمة العبور الآمن لإغاثة الأطفال",
            "fr": "Passage sûr – Secours à l'enfance",
            "es": "Paso Seguro – Socorro a la Infancia",
        },
    ),
    Organization(
        "mediterranean-employers-alliance",
        "Alliance of Mediterranean Employers' Federations",
        {
            "ar": "تحالف اتحادات أصحاب العمل في البحر الأبيض المتوسط",
            "fr": "Alliance des fédérations patronales de la Méditerranée",
            "es": "Alianza de Federaciones Empresariales del Mediterráneo",
        },
    ),
    Organization(
        "labour-inspection-forum",
        "Inter-Regional Labour Inspection Forum",
        {
            "ar": "المنتدى الأقاليمي لتفتيش العمل",
            "fr": "Forum interrégional de l'inspection du travail",
            "es": "Foro Interregional de Inspección del Trabajo",
        },
    ),
    Organization(
        "informal-workers-solidarity-network",
        "Informal Workers' Solidarity Network",
        {
            "ar": "شبكة تضامن العاملين في الاقتصاد غير الرسمي",
            "fr": "Réseau de solidarité des travailleurs de l'économie informelle",
            "es": "Red de Solidaridad de Trabajadores de la Economía Informal",
        },
    ),
    Organization(
        "digital-child-safety-alliance",
        "Digital Child Safety Alliance",
        {
            "ar": "تحالف السلامة الرقمية للأطفال",
            "fr": "Alliance pour la sécurité numérique des enfants",
            "es": "Alianza por la Seguridad Digital de la Infancia",
        },
    ),
    Organization(
        "agri-food-workers-federation",
        "Global Federation of Agricultural and Food Workers' Unions",
        {
            "ar": "الاتحاد العالمي لنقابات عمال الزراعة والأغذية",
            "fr": (
                "Fédération mondiale des syndicats de travailleurs de l'agriculture et de "
                "l'alimentation"
            ),
            "es": "Federación Mundial de Sindicatos de Trabajadores Agrícolas y de la Alimentación",
        },
    ),
    Organization(
        "south-south-cooperation-platform",
        "South-South Cooperation Platform for Decent Work",
        {
            "ar": "منصة التعاون بين بلدان الجنوب من أجل العمل اللائق",
            "fr": "Plateforme de coopération Sud-Sud pour le travail décent",
            "es": "Plataforma de Cooperación Sur-Sur para el Trabajo Decente",
        },
    ),
    Organization(
        "responsible-capital-coalition",
        "Responsible Capital Coalition",
        {
            "ar": "تحالف رأس المال المسؤول",
            "fr": "Coalition pour un capital responsable",
            "es": "Coalición por un Capital Responsable",
        },
    ),
    Organization(
        "survivors-circle",
        "Survivors' Circle for Children's Rights",
        {
            "ar": "دائرة الناجين من أجل حقوق الطفل",
            "fr": "Cercle des survivants pour les droits de l'enfant",
            "es": "Círculo de Sobrevivientes por los Derechos de la Infancia",
        },
    ),
)

PEOPLE: Mapping[str, Person] = {
    "hchraibi": Person(
        "Hanane Chraibi",
        (
            "Journalist and broadcaster based in Rabat who has moderated regional forums on "
            "education and employment for fifteen years."
        ),
    ),
    "lbennani": Person(
        "Leïla Bennani",
        (
            "Secretary-General of the Sahel and Maghreb Labour Ministries Network. She previously "
            "led child labour policy in a national ministry of labour."
        ),
    ),
    "oaltamimi": Person(
        "Omar Farouk Al-Tamimi",
        (
            "Former deputy minister of labour who now advises governments in the Arab region on "
            "national action plans against child labour."
        ),
    ),
    "mdiarra": Person(
        "Moussa Diarra",
        (
            "Child labour focal point in a West African ministry of labour, where he coordinates "
            "the national action plan."
        ),
    ),
    "kbenali": Person(
        "Karim Benali",
        (
            "Head of international cooperation on child labour in a labour ministry of the Arab "
            "region."
        ),
    ),
    "tnkosi": Person(
        "Thandiwe Nkosi",
        (
            "Vice-president of a regional employers' confederation and chief executive of an "
            "agribusiness cooperative in southern Africa."
        ),
    ),
    "techeverria": Person(
        "Tomás Echeverría",
        (
            "General Secretary of the Global Federation of Agricultural and Food Workers' Unions "
            "and a former banana plantation worker."
        ),
    ),
    "kmensah": Person(
        "Kwame Mensah-Boateng",
        (
            "Coordinator of the African Youth Network Against Child Labour. He began campaigning "
            "at sixteen in the cocoa-growing communities of his home district."
        ),
    ),
    "mlbah": Person(
        "Mohamed Lamine Bah",
        (
            "Youth organiser in West Africa who led national youth consultations on the next "
            "generation of child labour targets."
        ),
    ),
    "nkarim": Person(
        "Nour El Houda Karim",
        (
            "Sociology student and youth delegate who coordinates young volunteers supporting "
            "rural schools."
        ),
    ),
    "rvenkat": Person(
        "Rahul Venkataraman",
        (
            "Senior statistician at the Centre for Child Labour Data and Evidence, specialising in "
            "survey design and small-area estimation."
        ),
    ),
    "ptavares": Person(
        "Paulo Tavares",
        (
            "Director of social statistics at a national statistics office that added child labour "
            "questions to its labour force survey."
        ),
    ),
    "ekowalska": Person(
        "Ewa Kowalska",
        "Remote sensing researcher who monitors artisanal mining sites with satellite imagery.",
    ),
    "gkamau": Person(
        "Grace Wanjiru Kamau",
        (
            "Development economist who advises finance ministries in East Africa on financing "
            "social protection and education."
        ),
    ),
    "jhabimana": Person(
        "Jean-Baptiste Habimana",
        (
            "Agronomist and director of the Institute for Climate and Rural Livelihoods, where he "
            "leads research on drought and household coping strategies."
        ),
    ),
    "aouedraogo": Person(
        "Aïcha Ouédraogo",
        (
            "Leader of a farmers' federation in the Sahel that runs community early-warning "
            "committees."
        ),
    ),
    "stesfaye": Person(
        "Samuel Tesfaye",
        (
            "Climate risk specialist who designs shock-responsive social protection programmes in "
            "the Horn of Africa."
        ),
    ),
    "malsayegh": Person(
        "Mariam Al-Sayegh",
        (
            "Head of education programmes at Childhood First International, overseeing "
            "school-based child protection projects in five Arab countries."
        ),
    ),
    "mpillai": Person(
        "Meera Pillai",
        (
            "Former headteacher and teacher trainer in inclusive education, now an adviser on "
            "school retention in rural India."
        ),
    ),
    "amwakyusa": Person(
        "Amani Mwakyusa",
        (
            "Primary school teacher and union representative in Tanzania who campaigns for free "
            "school meals."
        ),
    ),
    "praghunathan": Person(
        "Priya Raghunathan",
        (
            "Social protection specialist at the Global Social Protection Partnership who has "
            "supported the design of child benefits in Asia and Africa."
        ),
    ),
    "vrojas": Person(
        "Valentina Rojas",
        (
            "Economist who led the evaluation of a national conditional cash transfer programme in "
            "South America."
        ),
    ),
    "yhaddad": Person(
        "Youssef Haddad",
        (
            "Regional director of Safe Passage Children's Relief, with twenty years of "
            "humanitarian experience in the Middle East."
        ),
    ),
    "rkhoury": Person(
        "Rania Khoury",
        "Child protection case manager working with refugee families in Lebanon and Jordan.",
    ),
    "edemir": Person(
        "Elif Demir",
        "Researcher on seasonal agricultural migration and the education of refugee children.",
    ),
    "malefebvre": Person(
        "Marc-Antoine Lefebvre",
        (
            "Director of responsible business at the Alliance of Mediterranean Employers' "
            "Federations, in charge of its supply chain due diligence programme."
        ),
    ),
    "anguyen": Person(
        "Nguyen Thi Lan Anh",
        (
            "Sourcing manager who has built supplier-mapping programmes for garment brands in "
            "South-East Asia."
        ),
    ),
    "fkone": Person(
        "Fatoumata Koné",
        (
            "President of the Inter-Regional Labour Inspection Forum and a former chief labour "
            "inspector."
        ),
    ),
    "cmendoza": Person(
        "Carlos Mendoza Rivas",
        (
            "Labour inspector who set up a mobile inspection unit for rural plantations in Central "
            "America."
        ),
    ),
    "hmansour": Person(
        "Hoda Mansour",
        (
            "Co-founder of the Informal Workers' Solidarity Network and organiser of street "
            "vendors' cooperatives in North Africa."
        ),
    ),
    "acisse": Person(
        "Abdoulaye Cissé",
        (
            "Coordinator of an artisanal miners' association working to remove children from gold "
            "mining sites in West Africa."
        ),
    ),
    "bqureshi": Person(
        "Bilal Qureshi",
        (
            "Organiser of brick kiln workers and advocate for social security coverage of informal "
            "workers in South Asia."
        ),
    ),
    "cyutong": Person(
        "Chen Yutong",
        (
            "Policy lead at the Digital Child Safety Alliance, working on safety-by-design "
            "standards for online platforms."
        ),
    ),
    "dokonkwo": Person(
        "Daniel Okonkwo",
        (
            "Trust and safety engineer who has built systems that detect the recruitment of minors "
            "on online platforms."
        ),
    ),
    "sramirez": Person(
        "Sofía Ramírez Castillo",
        (
            "Youth advocate and member of a child helpline's advisory board, who speaks about "
            "young people's experience of online work."
        ),
    ),
    "dsaleh": Person(
        "Dina Saleh",
        (
            "Software engineer who leads digital product development for a child helpline in North "
            "Africa."
        ),
    ),
    "alferreira": Person(
        "Ana Lúcia Ferreira",
        "Coordinator of the South-South Cooperation Platform for Decent Work, based in Brasília.",
    ),
    "isolberg": Person(
        "Ingrid Solberg",
        (
            "Head of stewardship at a Nordic pension fund and chair of the Responsible Capital "
            "Coalition."
        ),
    ),
    "htanabe": Person(
        "Hiroshi Tanabe",
        (
            "Impact investment adviser at a regional development bank, working on blended finance "
            "for smallholder agriculture."
        ),
    ),
    "rquispe": Person(
        "Rosa Elena Quispe",
        (
            "Coordinator of the Survivors' Circle for Children's Rights. As a child she worked in "
            "markets and mines in the Andes."
        ),
    ),
    "lchavez": Person(
        "Luis Alberto Chávez",
        (
            "Survivor of child labour on coffee farms, now a vocational trainer for young people "
            "in Central America."
        ),
    ),
    "msesay": Person(
        "Mariama Sesay",
        (
            "Survivor of child labour in artisanal diamond mining, today a law graduate and an "
            "advocate for children's rights in West Africa."
        ),
    ),
    "jmercier": Person(
        "Julien Mercier",
        (
            "Curator of the innovation fair and specialist in social innovation and community-led "
            "development."
        ),
    ),
}

VIRTUAL_DAY: tuple[Session, ...] = (
    Session(
        slug="opening-virtual-dialogue",
        kind="plenary",
        track=HIGH_LEVEL,
        day=1,
        room="Virtual plenary",
        start="09:00",
        duration="01:30",
        languages=LANGUAGES,
        visibility="public",
        capacity=5000,
        host=None,
        speakers=("hchraibi", "oaltamimi", "techeverria", "kmensah"),
        title={
            "en": "Opening high-level virtual dialogue: setting the foundations for 2030",
            "ar": "الحوار الافتراضي الافتتاحي رفيع المستوى: وضع الأسس نحو عام 2030",
            "fr": "Dialogue virtuel de haut niveau d'ouverture : poser les bases pour 2030",
            "es": "Diálogo virtual de alto nivel de apertura: sentar las bases hacia 2030",
        },
        abstract=(
            "Ministers, workers' and employers' representatives and young advocates open the "
            "conference online, so that people who cannot travel shape the discussion from its "
            "first hour. The dialogue frames the questions the in-person days will take up and "
            "launches the marathon of partner-led side events."
        ),
        abstract_ar=(
            "يفتتح الوزراء وممثلو العمال وأصحاب العمل والمدافعون الشباب المؤتمر عبر الإنترنت، "
            "ليتمكن من لا يستطيعون السفر من الإسهام في النقاش منذ ساعته الأولى. ويحدد الحوار "
            "الأسئلة التي ستتناولها الأيام الحضورية، ويطلق ماراثون الفعاليات الجانبية التي يقودها "
            "الشركاء."
        ),
        details=(
            "Speakers take stock of progress since the last global conference, name the "
            "bottlenecks that keep millions of children in work and set out what a credible "
            "outcome document should contain. Participants answer live polls on the priorities "
            "they want the in-person days to address, and the moderator brings their questions to "
            "the panel. Interpretation is provided in Arabic, English, French and Spanish."
        ),
    ),
    # Wave 1, 11:00
    Session(
        slug="closed-consultation-maghreb-sahel",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room A",
        start="11:00",
        duration="01:30",
        languages=("ar", "fr"),
        visibility="invite_only",
        capacity=300,
        host="sahel-maghreb-labour-ministries",
        speakers=("lbennani", "mdiarra"),
        title={
            "en": (
                "Closed consultative meeting of Maghreb and Sahel members: political leadership "
                "towards 2030"
            ),
            "ar": (
                "اجتماع تشاوري مغلق للأعضاء من منطقتي المغرب العربي والساحل: القيادة السياسية نحو "
                "عام 2030"
            ),
            "fr": (
                "Réunion consultative à huis clos des membres du Maghreb et du Sahel : le "
                "leadership politique à l'horizon 2030"
            ),
        },
        abstract=(
            "Member ministries of the network meet behind closed doors to compare their national "
            "action plans on child labour and agree on a joint position for the in-person days. "
            "Attendance is by invitation only and reserved for designated focal points."
        ),
        abstract_ar=(
            "تجتمع الوزارات الأعضاء في الشبكة في جلسة مغلقة لمقارنة خطط عملها الوطنية بشأن عمل "
            "الأطفال والاتفاق على موقف مشترك للأيام الحضورية. ويقتصر الحضور على نقاط الاتصال "
            "المعيّنة بموجب دعوة مسبقة."
        ),
        details=(
            "Focal points report on the budgets committed, laws adopted and gaps in enforcement "
            "since the last review. The meeting closes with a short list of commitments that the "
            "network's ministers will put forward in the session on political leadership on day 2."
        ),
    ),
    Session(
        slug="data-driven-targeting",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room B",
        start="11:00",
        duration="01:30",
        languages=("en", "fr"),
        visibility="registered",
        capacity=600,
        host="child-labour-data-centre",
        speakers=("rvenkat", "ptavares"),
        title={
            "en": "Counting every child: data-driven targeting of child labour interventions",
            "ar": "إحصاء كل طفل: الاستهداف القائم على البيانات في تدخلات مكافحة عمل الأطفال",
            "fr": (
                "Compter chaque enfant : un ciblage fondé sur les données pour lutter contre le "
                "travail des enfants"
            ),
        },
        abstract=(
            "Researchers and national statistics offices show how household surveys, school "
            "records and social registries can be combined to find the children most at risk. The "
            "centre launches an open toolkit for estimating child labour in small areas."
        ),
        abstract_ar=(
            "يعرض باحثون ومكاتب إحصاء وطنية كيف يمكن الجمع بين المسوح الأسرية والسجلات المدرسية "
            "والسجلات الاجتماعية للوصول إلى الأطفال الأكثر عرضة للخطر. ويطلق المركز مجموعة أدوات "
            "مفتوحة لتقدير عمل الأطفال على مستوى المناطق الصغيرة."
        ),
        details=(
            "Case studies from three countries show what changed when programmes were targeted by "
            "district rather than by national averages, and what it cost. Participants try the "
            "toolkit live and discuss safeguards for children's personal data."
        ),
    ),
    Session(
        slug="climate-pressures-rural-households",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room C",
        start="11:00",
        duration="01:30",
        languages=("fr", "en"),
        visibility="public",
        capacity=500,
        host="climate-rural-livelihoods-institute",
        speakers=("jhabimana", "aouedraogo", "stesfaye"),
        title={
            "en": "When the rains fail: climate pressures and child labour in rural households",
            "ar": "حين يشحّ المطر: الضغوط المناخية وعمل الأطفال في الأسر الريفية",
            "fr": (
                "Quand la pluie manque : pressions climatiques et travail des enfants dans les "
                "ménages ruraux"
            ),
        },
        abstract=(
            "Droughts, floods and failed harvests push families to send their children to work. "
            "Researchers and farmers' organisations from the Sahel and East Africa present "
            "early-warning and adaptation measures that keep children in school when shocks hit."
        ),
        abstract_ar=(
            "تدفع موجات الجفاف والفيضانات وفشل المحاصيل الأسرَ إلى إرسال أطفالها إلى العمل. ويعرض "
            "باحثون ومنظمات مزارعين من منطقة الساحل وشرق إفريقيا تدابير للإنذار المبكر والتكيّف "
            "تُبقي الأطفال في المدرسة حين تقع الصدمات."
        ),
        details=(
            "The session links climate adaptation finance with child protection. It asks how "
            "shock-responsive cash transfers, crop insurance and school feeding can be triggered "
            "before families resort to child labour."
        ),
    ),
    # Wave 2, 12:45
    Session(
        slug="safe-inclusive-schools-prevention",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room A",
        start="12:45",
        duration="01:30",
        languages=("ar", "en"),
        visibility="public",
        capacity=800,
        host="childhood-first-international",
        speakers=("malsayegh", "nkarim", "mpillai"),
        title={
            "en": "Safe and inclusive schools as the first line of prevention",
            "ar": "المدارس الآمنة والشاملة خط الدفاع الأول للوقاية من عمل الأطفال",
        },
        abstract=(
            "Teachers, parents and school leaders from the Arab region share how free, safe and "
            "welcoming schools keep children out of work. The session presents a school-based "
            "early-warning approach that flags repeated absence before it turns into dropout."
        ),
        abstract_ar=(
            "يتبادل معلمون وأولياء أمور ومديرو مدارس من المنطقة العربية تجاربهم حول الدور الذي "
            "تؤديه المدارس المجانية والآمنة والمرحِّبة في إبعاد الأطفال عن العمل. وتعرض الجلسة "
            "نهجاً للإنذار المبكر داخل المدرسة يرصد الغياب المتكرر قبل أن يتحول إلى تسرّب مدرسي."
        ),
        details=(
            "Speakers discuss the hidden costs of schooling, violence and discrimination in the "
            "classroom, and catch-up programmes for children who have already left school to work."
        ),
    ),
    Session(
        slug="integrated-social-protection-services",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room B",
        start="12:45",
        duration="01:30",
        languages=("en", "ar"),
        visibility="public",
        capacity=1000,
        host="global-social-protection-partnership",
        speakers=("praghunathan", "vrojas"),
        title={
            "en": (
                "Integrated social protection: cash, care and services that reach working children"
            ),
            "ar": (
                "الحماية الاجتماعية المتكاملة: تحويلات نقدية ورعاية وخدمات تصل إلى الأطفال العاملين"
            ),
        },
        abstract=(
            "Child benefits, health coverage and employment support work best when they are "
            "delivered together. This session reviews the evidence on integrated social protection "
            "packages and what it takes to extend them to informal and rural households."
        ),
        abstract_ar=(
            "تحقق منح الأطفال والتغطية الصحية ودعم التشغيل أفضل النتائج حين تُقدَّم معاً. وتستعرض "
            "هذه الجلسة الأدلة المتعلقة بحزم الحماية الاجتماعية المتكاملة، وما يتطلبه توسيعها "
            "لتشمل الأسر العاملة في الاقتصاد غير الرسمي والأسر الريفية."
        ),
        details=(
            "Government officials describe how they linked social registries with school and "
            "labour inspection data. The partnership presents a costing tool for universal child "
            "benefits."
        ),
    ),
    Session(
        slug="young-africa-sets-the-targets",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room C",
        start="12:45",
        duration="01:30",
        languages=("fr", "en"),
        visibility="public",
        capacity=700,
        host="african-youth-network",
        speakers=("kmensah", "mlbah"),
        title={
            "en": (
                "Young Africa sets the targets: youth voices on the next generation of commitments"
            ),
            "ar": "شباب إفريقيا يحددون الأهداف: أصوات الشباب حول الجيل القادم من الالتزامات",
            "fr": (
                "La jeunesse africaine fixe le cap : la voix des jeunes sur la prochaine "
                "génération d'engagements"
            ),
        },
        abstract=(
            "Sub-Saharan Africa has the largest number of children in child labour, and its young "
            "people want a say in what comes next. Youth activists from across the continent "
            "present their proposals for ambitious, measurable targets and for how young people "
            "should take part in monitoring them."
        ),
        abstract_ar=(
            "تضم إفريقيا جنوب الصحراء العدد الأكبر من الأطفال المنخرطين في عمل الأطفال، ويريد "
            "شبابها أن يكون لهم رأي فيما سيأتي. ويعرض ناشطون شباب من مختلف أنحاء القارة مقترحاتهم "
            "لأهداف طموحة وقابلة للقياس، ولسبل مشاركة الشباب في رصد تنفيذها."
        ),
        details=(
            "The proposals come from national youth consultations held over the past year. "
            "Ministers and regional bodies respond live, and the network's recommendations feed "
            "into the session on next-generation targets on day 4."
        ),
    ),
    # Wave 3, 14:30
    Session(
        slug="children-conflict-displacement",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room A",
        start="14:30",
        duration="01:30",
        languages=("ar", "en"),
        visibility="public",
        capacity=800,
        host="safe-passage-childrens-relief",
        speakers=("yhaddad", "rkhoury", "edemir"),
        title={
            "en": "Children uprooted: preventing child labour in conflict and displacement",
            "ar": "أطفال في مهبّ النزوح: الوقاية من عمل الأطفال في سياقات النزاع والنزوح",
        },
        abstract=(
            "Conflict and displacement destroy livelihoods and schools at once, and children are "
            "pushed into work to help their families survive. Humanitarian workers from "
            "refugee-hosting countries share what works: cash assistance tied to case management, "
            "learning spaces and safe referrals."
        ),
        abstract_ar=(
            "تدمّر النزاعات وموجات النزوح سبل العيش والمدارس في آن واحد، فيُدفع الأطفال إلى العمل "
            "لمساعدة أسرهم على البقاء. ويتبادل عاملون في المجال الإنساني من البلدان المستضيفة "
            "للاجئين ما أثبت نجاحه: المساعدات النقدية المرتبطة بإدارة الحالات، وأماكن التعلم، "
            "ومسارات الإحالة الآمنة."
        ),
        details=(
            "The session looks at the worst forms of child labour in crises, including recruitment "
            "by armed groups, and at how humanitarian and development actors can hand over "
            "programmes without leaving children behind."
        ),
    ),
    Session(
        slug="fragmented-supply-chains",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room B",
        start="14:30",
        duration="01:30",
        languages=("en", "fr"),
        visibility="registered",
        capacity=600,
        host="mediterranean-employers-alliance",
        speakers=("malefebvre", "anguyen", "tnkosi"),
        title={
            "en": "Beyond the first tier: tackling child labour in fragmented supply chains",
            "ar": "ما بعد المورّد المباشر: التصدي لعمل الأطفال في سلاسل التوريد المجزأة",
            "fr": (
                "Au-delà du premier rang : lutter contre le travail des enfants dans des chaînes "
                "d'approvisionnement fragmentées"
            ),
        },
        abstract=(
            "Most child labour sits far below the suppliers that buyers audit. Employers' "
            "organisations and companies from textiles, agriculture and mining discuss due "
            "diligence that reaches subcontractors and home-based work."
        ),
        abstract_ar=(
            "يقع معظم عمل الأطفال بعيداً عن المورّدين الذين يخضعون لتدقيق المشترين. وتناقش منظمات "
            "أصحاب العمل وشركات من قطاعات النسيج والزراعة والتعدين العنايةَ الواجبة التي تمتد "
            "لتشمل المقاولين من الباطن والعمل المنزلي."
        ),
        details=(
            "Participants compare supplier-mapping methods, shared remediation funds and "
            "purchasing practices that make decent work affordable for small producers. The "
            "alliance presents a guide for small and medium-sized enterprises."
        ),
    ),
    Session(
        slug="closed-exchange-labour-inspectorates",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room C",
        start="14:30",
        duration="01:30",
        languages=("fr", "ar"),
        visibility="invite_only",
        capacity=300,
        host="labour-inspection-forum",
        speakers=("fkone", "cmendoza"),
        title={
            "en": (
                "Closed peer exchange of labour inspectorates: reaching informal and rural "
                "workplaces"
            ),
            "ar": "تبادل مغلق بين أجهزة تفتيش العمل: الوصول إلى أماكن العمل غير الرسمية والريفية",
            "fr": (
                "Échange à huis clos entre inspections du travail : atteindre les lieux de travail "
                "informels et ruraux"
            ),
        },
        abstract=(
            "Heads of labour inspectorates share, in confidence, their experience of inspecting "
            "farms, workshops and homes where children work. The exchange is reserved for members "
            "of the forum."
        ),
        abstract_ar=(
            "يتبادل رؤساء أجهزة تفتيش العمل، في إطار من السرية، خبراتهم في تفتيش المزارع والورش "
            "والمنازل التي يعمل فيها أطفال. ويقتصر هذا التبادل على أعضاء المنتدى."
        ),
        details=(
            "Topics include joint inspections with social workers, referral protocols once a child "
            "is found at work, and mobile tools for recording findings. Conclusions will be shared "
            "publicly in anonymised form."
        ),
    ),
    # Wave 4, 16:15
    Session(
        slug="organising-informal-economy",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room A",
        start="16:15",
        duration="01:30",
        languages=("ar", "fr"),
        visibility="public",
        capacity=500,
        host="informal-workers-solidarity-network",
        speakers=("hmansour", "acisse"),
        title={
            "en": "Organising the informal economy: workers' own answers to child labour",
            "ar": "تنظيم الاقتصاد غير الرسمي: حلول العاملين أنفسهم لمشكلة عمل الأطفال",
            "fr": (
                "Organiser l'économie informelle : les réponses des travailleurs au travail des "
                "enfants"
            ),
        },
        abstract=(
            "Street vendors, waste pickers and home-based workers explain how cooperatives, "
            "childcare and fair prices help parents keep their children out of work. The network "
            "presents its experience of bringing informal workers into social protection schemes."
        ),
        abstract_ar=(
            "يشرح الباعة المتجولون وجامعو النفايات والعاملون من منازلهم كيف تساعد التعاونيات "
            "ورعاية الأطفال والأسعار العادلة الآباءَ على إبعاد أطفالهم عن العمل. وتعرض الشبكة "
            "تجربتها في إدماج العاملين في الاقتصاد غير الرسمي في أنظمة الحماية الاجتماعية."
        ),
        details=(
            "Most working children are in the informal economy, often working alongside their "
            "parents. Speakers from North and West Africa discuss formalisation that does not "
            "punish the poorest families, and the role of municipalities in organising markets and "
            "childcare."
        ),
    ),
    Session(
        slug="online-exploitation-digital-economy",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room B",
        start="16:15",
        duration="01:30",
        languages=("en", "es"),
        visibility="public",
        capacity=900,
        host="digital-child-safety-alliance",
        speakers=("cyutong", "dokonkwo", "sramirez"),
        title={
            "en": "Online exploitation: new risks for working children in a digital economy",
            "ar": "الاستغلال عبر الإنترنت: مخاطر جديدة تواجه الأطفال العاملين في الاقتصاد الرقمي",
            "es": (
                "Explotación en línea: nuevos riesgos para la niñez trabajadora en la economía "
                "digital"
            ),
        },
        abstract=(
            "Platforms, content farms and online recruitment create new forms of child "
            "exploitation that traditional inspection cannot see. Technology companies, regulators "
            "and child helplines discuss detection, reporting and remedies."
        ),
        abstract_ar=(
            "تخلق المنصات الرقمية و«مزارع المحتوى» والتجنيد عبر الإنترنت أشكالاً جديدة من استغلال "
            "الأطفال لا يستطيع التفتيش التقليدي رصدها. وتناقش شركات التكنولوجيا والجهات التنظيمية "
            "وخطوط نجدة الطفل سبل الكشف والإبلاغ وجبر الضرر."
        ),
        details=(
            "The session covers child influencers and unpaid content work, online recruitment into "
            "forced labour and sexual exploitation, and what safety-by-design obligations could "
            "look like. Young people share their own experience of online work."
        ),
    ),
    Session(
        slug="social-dialogue-in-the-fields",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room C",
        start="16:15",
        duration="01:30",
        languages=("es", "en"),
        visibility="public",
        capacity=700,
        host="agri-food-workers-federation",
        speakers=("techeverria", "tnkosi"),
        title={
            "en": (
                "Social dialogue in the fields: unions, employers and governments against child "
                "labour in agriculture"
            ),
            "ar": (
                "الحوار الاجتماعي في الحقول: النقابات وأصحاب العمل والحكومات في مواجهة عمل الأطفال "
                "في الزراعة"
            ),
            "es": (
                "Diálogo social en el campo: sindicatos, empleadores y gobiernos contra el trabajo "
                "infantil en la agricultura"
            ),
        },
        abstract=(
            "Agriculture accounts for the largest share of child labour. Agricultural workers' "
            "unions from Latin America and Africa present collective agreements that raised adult "
            "wages, organised childcare during harvests and committed employers to "
            "child-labour-free farms."
        ),
        abstract_ar=(
            "تستأثر الزراعة بالحصة الأكبر من عمل الأطفال. وتعرض نقابات عمال الزراعة من أمريكا "
            "اللاتينية وإفريقيا اتفاقيات جماعية رفعت أجور البالغين، ووفّرت رعاية للأطفال في مواسم "
            "الحصاد، وألزمت أصحاب العمل بمزارع خالية من عمل الأطفال."
        ),
        details=(
            "Tripartite panels from two countries explain how negotiations started, what broke "
            "down and how the agreements are monitored in the field. The federation launches a "
            "model clause for collective agreements."
        ),
    ),
    # Wave 5, 18:00: late enough for the Americas to join in working hours.
    Session(
        slug="south-south-latin-america-arab-region",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room A",
        start="18:00",
        duration="01:30",
        languages=("es", "ar"),
        visibility="public",
        capacity=600,
        host="south-south-cooperation-platform",
        speakers=("alferreira", "kbenali"),
        title={
            "en": (
                "South-South cooperation: what Latin America and the Arab region can learn from "
                "each other"
            ),
            "ar": (
                "التعاون بين بلدان الجنوب: ما الذي يمكن أن تتعلمه أمريكا اللاتينية والمنطقة "
                "العربية إحداهما من الأخرى"
            ),
            "es": (
                "Cooperación Sur-Sur: lo que América Latina y la región árabe pueden aprender una "
                "de la otra"
            ),
        },
        abstract=(
            "Regional initiatives in Latin America and the Caribbean have built shared targets, "
            "peer reviews and joint training for labour ministries. Officials from both regions "
            "exchange practical lessons and explore a twinning programme."
        ),
        abstract_ar=(
            "أرست المبادرات الإقليمية في أمريكا اللاتينية ومنطقة البحر الكاريبي أهدافاً مشتركة "
            "ومراجعات بين الأقران وبرامج تدريب مشتركة لوزارات العمل. ويتبادل مسؤولون من المنطقتين "
            "دروساً عملية ويستكشفون إطلاق برنامج للتوأمة."
        ),
        details=(
            "Simultaneous interpretation between Spanish and Arabic lets officials speak directly "
            "with their counterparts. Topics include child labour risk models, conditional cash "
            "transfers and the certification of child-labour-free municipalities."
        ),
    ),
    Session(
        slug="responsible-investment-childrens-rights",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room B",
        start="18:00",
        duration="01:30",
        languages=("en",),
        visibility="registered",
        capacity=400,
        host="responsible-capital-coalition",
        speakers=("isolberg", "htanabe"),
        title={
            "en": "Responsible investment: putting capital to work for children's rights",
            "ar": "الاستثمار المسؤول: توظيف رأس المال لخدمة حقوق الطفل",
        },
        abstract=(
            "Investors hold growing leverage over the companies and supply chains where child "
            "labour persists. Asset managers, development banks and pension funds discuss "
            "stewardship, screening and blended finance that reward child-labour-free production."
        ),
        abstract_ar=(
            "يمتلك المستثمرون نفوذاً متزايداً على الشركات وسلاسل التوريد التي يستمر فيها عمل "
            "الأطفال. ويناقش مديرو الأصول وبنوك التنمية وصناديق التقاعد أدوات الإشراف والفرز "
            "والتمويل المختلط التي تكافئ الإنتاج الخالي من عمل الأطفال."
        ),
        details=(
            "The coalition presents a set of investor expectations on child labour and asks which "
            "disclosures would make them measurable. Registered participants receive the draft for "
            "comment."
        ),
    ),
    Session(
        slug="survivors-lead-decent-work",
        kind="side_event",
        track=MARATHON,
        day=1,
        room="Side room C",
        start="18:00",
        duration="01:30",
        languages=("es", "en"),
        visibility="public",
        capacity=600,
        host="survivors-circle",
        speakers=("rquispe", "lchavez"),
        title={
            "en": "From child labour to decent work: survivors lead the way",
            "ar": "من عمل الأطفال إلى العمل اللائق: الناجون يرسمون الطريق",
            "es": (
                "Del trabajo infantil al trabajo decente: las y los sobrevivientes abren el camino"
            ),
        },
        abstract=(
            "Survivors of child labour, now adults, speak about what helped them return to school, "
            "find decent jobs and support their own children. The session asks how youth "
            "employment programmes can reach young people who started working as children."
        ),
        abstract_ar=(
            "يتحدث ناجون من عمل الأطفال، أصبحوا اليوم بالغين، عمّا ساعدهم على العودة إلى الدراسة "
            "والحصول على عمل لائق وإعالة أطفالهم. وتبحث الجلسة كيف يمكن لبرامج تشغيل الشباب أن تصل "
            "إلى الشباب الذين بدأوا العمل وهم أطفال."
        ),
        details=(
            "Speakers from the Andes, Central America and South Asia describe their pathways in "
            "their own words. The circle presents its principles for the safe and meaningful "
            "participation of survivors in policy-making."
        ),
    ),
)

SCALING_DAY: tuple[Session, ...] = (
    Session(
        slug="opening-and-survivor-testimony",
        kind="plenary",
        track=HIGH_LEVEL,
        day=2,
        room="Plenary hall",
        start="09:00",
        duration="01:30",
        languages=LANGUAGES,
        visibility="public",
        capacity=1500,
        host=None,
        speakers=("hchraibi", "msesay", "oaltamimi", "tnkosi"),
        title={
            "en": "Opening session and testimony of a child labour survivor",
            "ar": "الجلسة الافتتاحية وشهادة ناجية من عمل الأطفال",
            "fr": "Séance d'ouverture et témoignage d'une survivante du travail des enfants",
            "es": "Sesión de apertura y testimonio de una sobreviviente del trabajo infantil",
        },
        abstract=(
            "The in-person days open with addresses by the host country, governments, and workers' "
            "and employers' organisations, and with the testimony of a young woman who worked in "
            "artisanal mines as a child. Her story renews the conference's commitment and turns "
            "the focus to solutions that can be scaled."
        ),
        abstract_ar=(
            "تنطلق الأيام الحضورية بكلمات البلد المضيف والحكومات ومنظمات العمال وأصحاب العمل، "
            "وبشهادة مؤثرة لشابة عملت في المناجم الحرفية وهي طفلة. وتجدّد قصتها التزام المؤتمر، "
            "لينتقل التركيز بعدها إلى الحلول القابلة للتوسع."
        ),
        details=(
            "The session recalls the commitments of previous global conferences and presents the "
            "key messages of the virtual day. It closes with the formal opening of the innovation "
            "fair."
        ),
    ),
    Session(
        slug="innovation-fair-tools",
        kind="marketplace",
        track=FAIR,
        day=2,
        room="Innovation fair",
        start="10:30",
        duration="07:30",
        languages=("en", "ar", "fr"),
        visibility="public",
        capacity=None,
        host=None,
        speakers=("jmercier",),
        title={
            "en": "Innovation fair: practical tools and community innovations",
            "ar": "معرض الابتكار: أدوات عملية وابتكارات مجتمعية",
            "fr": "Salon de l'innovation : outils pratiques et innovations communautaires",
        },
        abstract=(
            "A dynamic space to explore practical tools, visual content and community innovations "
            "from partners around the world. Stands run demonstrations throughout the day, and a "
            "pitch corner opens every hour."
        ),
        abstract_ar=(
            "مساحة ديناميكية لاستكشاف الأدوات العملية والمحتوى المرئي والابتكارات المجتمعية التي "
            "يقدّمها الشركاء من مختلف أنحاء العالم. وتقدّم الأجنحة عروضاً توضيحية طوال اليوم، مع "
            "ركن للعروض القصيرة يُفتح كل ساعة."
        ),
        details=(
            "Exhibitors include the side-event partners of the virtual day, who bring the tools "
            "they launched online. Visitors can book one-to-one meetings with exhibitors through "
            "the platform."
        ),
    ),
    Session(
        slug="political-leadership-budgets",
        kind="thematic",
        track=SCALING,
        day=2,
        room="Room 1",
        start="11:00",
        duration="01:30",
        languages=("en", "ar", "fr"),
        visibility="public",
        capacity=400,
        host="sahel-maghreb-labour-ministries",
        speakers=("lbennani", "oaltamimi", "mdiarra"),
        title={
            "en": "Political leadership: turning commitments into national budgets",
            "ar": "القيادة السياسية: تحويل الالتزامات إلى ميزانيات وطنية",
            "fr": "Leadership politique : traduire les engagements en budgets nationaux",
        },
        abstract=(
            "Ending child labour needs leaders who put money and institutions behind their words. "
            "Ministers and parliamentarians discuss national action plans that are costed, funded "
            "and owned across ministries."
        ),
        abstract_ar=(
            "يتطلب القضاء على عمل الأطفال قادةً يدعمون أقوالهم بالموارد والمؤسسات. ويناقش وزراء "
            "وبرلمانيون خطط العمل الوطنية المحدَّدة التكلفة والممولة التي تتبناها مختلف الوزارات."
        ),
        details=(
            "The session hears from countries that sharply reduced child labour within a decade "
            "and asks which political choices made the difference. The Sahel and Maghreb network "
            "reports on the positions agreed at its consultative meeting on the virtual day."
        ),
    ),
    Session(
        slug="social-dialogue-scaling",
        kind="thematic",
        track=SCALING,
        day=2,
        room="Room 2",
        start="11:00",
        duration="01:30",
        languages=("en", "es"),
        visibility="public",
        capacity=250,
        host="agri-food-workers-federation",
        speakers=("techeverria", "tnkosi", "malefebvre"),
        title={
            "en": "Social dialogue: how workers and employers scale up what works",
            "ar": "الحوار الاجتماعي: كيف يوسّع العمال وأصحاب العمل نطاق ما ينجح",
            "es": "Diálogo social: cómo trabajadores y empleadores amplían lo que funciona",
        },
        abstract=(
            "Collective bargaining and tripartite institutions can turn local successes into "
            "standards for whole sectors. Union and employer leaders show how national agreements "
            "carried child-labour-free practices from pilot farms and factories to entire "
            "industries."
        ),
        abstract_ar=(
            "يمكن للمفاوضة الجماعية والمؤسسات الثلاثية أن تحوّل النجاحات المحلية إلى معايير تشمل "
            "قطاعات بأكملها. ويبيّن قادة النقابات وأصحاب العمل كيف نقلت الاتفاقيات الوطنية "
            "الممارسات الخالية من عمل الأطفال من المزارع والمصانع النموذجية إلى صناعات بأكملها."
        ),
        details=(
            "Panellists discuss freedom of association as an enabling right, the role of labour "
            "councils in monitoring, and how to bring informal and migrant workers to the "
            "negotiating table."
        ),
    ),
    Session(
        slug="labour-inspection-engine-room",
        kind="interactive",
        track=SCALING,
        day=2,
        room="Room 3",
        start="11:00",
        duration="01:30",
        languages=("fr", "ar"),
        visibility="registered",
        capacity=80,
        host=None,
        speakers=("fkone", "cmendoza"),
        title={
            "en": "Engine room: strengthening labour inspection against child labour",
            "ar": "غرفة المحركات: تعزيز تفتيش العمل في مواجهة عمل الأطفال",
            "fr": (
                "Salle des machines : renforcer l'inspection du travail face au travail des enfants"
            ),
        },
        abstract=(
            "In small groups, inspectors, prosecutors and social workers work through real cases, "
            "from the first visit to the child's referral to services. Each group produces one "
            "recommendation for labour inspection systems."
        ),
        abstract_ar=(
            "يعمل مفتشو العمل وأعضاء النيابة العامة والأخصائيون الاجتماعيون، ضمن مجموعات صغيرة، "
            "على حالات واقعية، بدءاً من الزيارة الأولى ووصولاً إلى إحالة الطفل إلى الخدمات. وتخرج "
            "كل مجموعة بتوصية واحدة لتطوير أنظمة تفتيش العمل."
        ),
        details=(
            "The cases cover agriculture, domestic work and small workshops. The recommendations "
            "are put to a vote at the end of the session and passed to the team drafting the "
            "outcome document."
        ),
    ),
    Session(
        slug="integrated-social-protection-systems",
        kind="thematic",
        track=SCALING,
        day=2,
        room="Room 1",
        start="14:00",
        duration="01:30",
        languages=("en", "ar"),
        visibility="public",
        capacity=400,
        host="global-social-protection-partnership",
        speakers=("praghunathan", "vrojas", "stesfaye"),
        title={
            "en": "Integrated social protection: from pilots to national systems",
            "ar": "الحماية الاجتماعية المتكاملة: من المشاريع التجريبية إلى الأنظمة الوطنية",
        },
        abstract=(
            "Cash transfers reduce child labour when they are predictable, adequate and linked to "
            "services. Governments explain how they moved from short-term pilots to national child "
            "benefits, and which financing made it possible."
        ),
        abstract_ar=(
            "تسهم التحويلات النقدية في الحد من عمل الأطفال حين تكون منتظمة وكافية ومرتبطة "
            "بالخدمات. وتشرح حكومات كيف انتقلت من مشاريع تجريبية قصيرة الأجل إلى منح وطنية "
            "للأطفال، وما التمويل الذي جعل ذلك ممكناً."
        ),
        details=(
            "The discussion covers the links between social protection, education and labour "
            "market policies, and the role of social dialogue in designing benefits that workers "
            "in the informal economy can actually reach."
        ),
    ),
    Session(
        slug="decent-work-adults-youth",
        kind="thematic",
        track=SCALING,
        day=2,
        room="Room 2",
        start="14:00",
        duration="01:30",
        languages=("en", "fr"),
        visibility="public",
        capacity=250,
        host=None,
        speakers=("bqureshi", "lchavez", "nkarim"),
        title={
            "en": "Decent work for adults and youth: the household route out of child labour",
            "ar": "العمل اللائق للبالغين والشباب: طريق الأسرة للخروج من عمل الأطفال",
            "fr": (
                "Travail décent pour les adultes et les jeunes : la voie des ménages pour sortir "
                "du travail des enfants"
            ),
        },
        abstract=(
            "When parents earn a living wage and young people above the minimum age find safe "
            "jobs, children stop working. Speakers present employment programmes, minimum wages "
            "and skills pathways designed with child labour in mind."
        ),
        abstract_ar=(
            "حين يحصل الآباء على أجر يكفي لعيش كريم، ويجد الشباب الذين تجاوزوا الحد الأدنى لسن "
            "العمل وظائف آمنة، يتوقف الأطفال عن العمل. ويعرض المتحدثون برامج للتشغيل وسياسات للحد "
            "الأدنى للأجور ومسارات لتنمية المهارات صُمِّمت مع مراعاة قضية عمل الأطفال."
        ),
        details=(
            "A particular focus is on adolescents of legal working age, who need protection from "
            "hazardous work rather than exclusion from work altogether. Apprenticeship and "
            "safe-work models from North Africa and South Asia are presented."
        ),
    ),
    Session(
        slug="safe-schools-engine-room",
        kind="interactive",
        track=SCALING,
        day=2,
        room="Room 3",
        start="14:00",
        duration="01:30",
        languages=("en", "ar"),
        visibility="registered",
        capacity=80,
        host=None,
        speakers=("mpillai", "amwakyusa", "malsayegh"),
        title={
            "en": "Engine room: designing safe and inclusive schools that keep children learning",
            "ar": "غرفة المحركات: تصميم مدارس آمنة وشاملة تضمن استمرار تعلّم الأطفال",
        },
        abstract=(
            "Participants map why children in their own contexts leave school for work and design "
            "responses, from free meals to flexible timetables during harvests. Groups test their "
            "designs against the constraints of a real district budget."
        ),
        abstract_ar=(
            "يرسم المشاركون خريطة الأسباب التي تدفع الأطفال في سياقاتهم إلى ترك المدرسة والتوجه "
            "إلى العمل، ثم يصممون حلولاً تتراوح بين الوجبات المدرسية المجانية والجداول الدراسية "
            "المرنة في مواسم الحصاد. وتختبر المجموعات تصاميمها في ضوء قيود ميزانية حقيقية لإحدى "
            "المقاطعات."
        ),
        details=(
            "Facilitators from education ministries and teachers' unions guide the work. The "
            "session closes with a live poll ranking the most feasible measures."
        ),
    ),
    Session(
        slug="data-targeting-engine-room",
        kind="interactive",
        track=SCALING,
        day=2,
        room="Room 3",
        start="16:00",
        duration="01:30",
        languages=("en", "fr"),
        visibility="registered",
        capacity=80,
        host=None,
        speakers=("rvenkat", "ptavares"),
        title={
            "en": "Engine room: data-driven targeting in practice",
            "ar": "غرفة المحركات: الاستهداف القائم على البيانات في الممارسة العملية",
            "fr": "Salle des machines : le ciblage fondé sur les données en pratique",
        },
        abstract=(
            "Working with anonymised sample data, participants decide where a limited budget "
            "should go and see how their choices change the number of children reached. The "
            "exercise brings out the trade-offs between precision, cost and privacy."
        ),
        abstract_ar=(
            "يعمل المشاركون على بيانات نموذجية مجهولة الهوية لتحديد أوجه إنفاق ميزانية محدودة، "
            "ويلاحظون كيف تغيّر خياراتهم عدد الأطفال الذين يجري الوصول إليهم. ويكشف هذا التمرين "
            "الموازنة الصعبة بين الدقة والتكلفة وحماية الخصوصية."
        ),
        details=(
            "No technical background is needed: the data are presented as maps and simple tables. "
            "Statisticians are on hand to explain the methods behind each estimate."
        ),
    ),
    Session(
        slug="scaling-what-works-panel",
        kind="plenary",
        track=HIGH_LEVEL,
        day=2,
        room="Plenary hall",
        start="16:00",
        duration="01:30",
        languages=LANGUAGES,
        visibility="public",
        capacity=1500,
        host=None,
        speakers=("hchraibi", "lbennani", "techeverria", "praghunathan"),
        title={
            "en": "High-level panel: from proven practice to national scale",
            "ar": "حلقة نقاش رفيعة المستوى: من الممارسات المثبتة إلى النطاق الوطني",
            "fr": "Panel de haut niveau : des pratiques éprouvées à l'échelle nationale",
            "es": "Panel de alto nivel: de las prácticas probadas a la escala nacional",
        },
        abstract=(
            "Rapporteurs from the day's sessions bring their findings to ministers and heads of "
            "agencies. The panel discusses how proven practices can be replicated and adapted "
            "effectively in other countries."
        ),
        abstract_ar=(
            "يعرض مقررو جلسات اليوم خلاصاتهم على الوزراء ورؤساء الوكالات. وتناقش الحلقة كيف يمكن "
            "تكرار الممارسات المثبتة وتكييفها بفعالية وتأثير في بلدان أخرى."
        ),
        details=(
            "Each panellist is asked to name one practice their country or organisation will scale "
            "up before the next review, and the support it needs to do so."
        ),
    ),
)

EMERGING_DAY: tuple[Session, ...] = (
    Session(
        slug="world-of-work-in-flux",
        kind="plenary",
        track=HIGH_LEVEL,
        day=3,
        room="Plenary hall",
        start="09:00",
        duration="01:00",
        languages=LANGUAGES,
        visibility="public",
        capacity=1500,
        host=None,
        speakers=("hchraibi", "rvenkat", "techeverria", "sramirez"),
        title={
            "en": "A world of work in flux: new risks, new levers",
            "ar": "عالم عمل متغيّر: مخاطر جديدة وروافع جديدة للتغيير",
            "fr": "Un monde du travail en mutation : nouveaux risques, nouveaux leviers",
            "es": "Un mundo del trabajo en transformación: nuevos riesgos, nuevas palancas",
        },
        abstract=(
            "The world of work keeps changing, and so do the risks children face. This plenary "
            "introduces the day's themes, from online exploitation and climate pressures to "
            "responsible investment and technology, with a focus on anticipation, prevention and "
            "resilience."
        ),
        abstract_ar=(
            "يتطور عالم العمل باستمرار، وتتطور معه المخاطر التي يواجهها الأطفال. وتمهّد هذه الجلسة "
            "العامة لمحاور اليوم، من الاستغلال عبر الإنترنت والضغوط المناخية إلى الاستثمار المسؤول "
            "والتكنولوجيا، مع التركيز على الاستباقية والوقاية والقدرة على الصمود."
        ),
        details=(
            "A short foresight briefing presents scenarios for child labour up to 2035, followed "
            "by reactions from a researcher, a trade unionist and a young activist."
        ),
    ),
    Session(
        slug="innovation-fair-investment",
        kind="marketplace",
        track=FAIR,
        day=3,
        room="Innovation fair",
        start="09:00",
        duration="09:00",
        languages=("en", "ar", "fr"),
        visibility="public",
        capacity=None,
        host=None,
        speakers=("jmercier", "htanabe"),
        title={
            "en": "Innovation fair: investment models and proven practices",
            "ar": "معرض الابتكار: نماذج الاستثمار والمبادرات الناجحة وأفضل الممارسات",
            "fr": "Salon de l'innovation : modèles d'investissement et pratiques éprouvées",
        },
        abstract=(
            "The fair's second day features investment models, successful initiatives and best "
            "practices ready to be replicated. Investors and donors meet project teams in "
            "scheduled matchmaking rounds."
        ),
        abstract_ar=(
            "يخصص المعرض يومه الثاني لنماذج الاستثمار والمبادرات الناجحة وأفضل الممارسات القابلة "
            "للتكرار. ويلتقي المستثمرون والجهات المانحة بفرق المشاريع في جولات مواءمة مجدولة."
        ),
        details=(
            "Matchmaking rounds start at 11:00, 14:00 and 16:00. The fair closes with an award for "
            "the most promising community innovation, chosen by a vote of participants."
        ),
    ),
    Session(
        slug="online-exploitation",
        kind="thematic",
        track=EMERGING,
        day=3,
        room="Room 1",
        start="10:30",
        duration="01:30",
        languages=("en", "ar"),
        visibility="public",
        capacity=400,
        host="digital-child-safety-alliance",
        speakers=("cyutong", "dokonkwo", "dsaleh"),
        title={
            "en": "Online exploitation: protecting children in the digital world of work",
            "ar": "الاستغلال عبر الإنترنت: حماية الأطفال في عالم العمل الرقمي",
        },
        abstract=(
            "Digital platforms open new routes to the exploitation of children, from unpaid "
            "content work to online recruitment into forced labour. Regulators, platforms and "
            "child helplines discuss what prevention and accountability look like online."
        ),
        abstract_ar=(
            "تفتح المنصات الرقمية مسارات جديدة لاستغلال الأطفال، من العمل غير المأجور في إنتاج "
            "المحتوى إلى التجنيد عبر الإنترنت في العمل الجبري. ويناقش المنظمون والمنصات وخطوط نجدة "
            "الطفل ما تعنيه الوقاية والمساءلة في الفضاء الرقمي."
        ),
        details=(
            "Building on the virtual day's side event, the session examines how labour law, child "
            "protection law and platform regulation can work together, and which reporting "
            "channels children actually use."
        ),
    ),
    Session(
        slug="conflict-and-displacement",
        kind="thematic",
        track=EMERGING,
        day=3,
        room="Room 2",
        start="10:30",
        duration="01:30",
        languages=("ar", "en"),
        visibility="public",
        capacity=250,
        host="safe-passage-childrens-relief",
        speakers=("yhaddad", "rkhoury", "edemir"),
        title={
            "en": "Conflict and displacement: keeping children out of work in crises",
            "ar": "النزاعات والنزوح: إبعاد الأطفال عن العمل في أوقات الأزمات",
        },
        abstract=(
            "Crises can undo years of progress against child labour within months. Humanitarian, "
            "development and government actors discuss how to prevent child labour from the first "
            "days of an emergency and how to sustain protection as crises become protracted."
        ),
        abstract_ar=(
            "قد تمحو الأزمات في غضون أشهر سنواتٍ من التقدم المحرز في مكافحة عمل الأطفال. ويناقش "
            "فاعلون في المجالين الإنساني والإنمائي وممثلون حكوميون سبل منع عمل الأطفال منذ الأيام "
            "الأولى لحالات الطوارئ، وضمان استمرار الحماية حين تطول الأزمات."
        ),
        details=(
            "Case studies come from refugee-hosting countries in the Middle East and the Sahel. "
            "The session looks in particular at work permits for refugee parents and at education "
            "in emergencies."
        ),
    ),
    Session(
        slug="climate-engine-room",
        kind="interactive",
        track=EMERGING,
        day=3,
        room="Room 3",
        start="10:30",
        duration="01:30",
        languages=("fr", "en"),
        visibility="registered",
        capacity=80,
        host=None,
        speakers=("stesfaye", "aouedraogo", "jhabimana"),
        title={
            "en": "Engine room: anticipating climate shocks before children pay the price",
            "ar": "غرفة المحركات: استباق الصدمات المناخية قبل أن يدفع الأطفال ثمنها",
            "fr": (
                "Salle des machines : anticiper les chocs climatiques avant que les enfants n'en "
                "paient le prix"
            ),
        },
        abstract=(
            "Groups work through a drought scenario month by month and decide which early actions "
            "would keep children in school. The exercise tests how social protection, agriculture "
            "and education services can act together on early-warning data."
        ),
        abstract_ar=(
            "تعمل المجموعات على سيناريو لموجة جفاف شهراً بعد شهر، وتحدد الإجراءات المبكرة التي من "
            "شأنها إبقاء الأطفال في المدرسة. ويختبر التمرين قدرة خدمات الحماية الاجتماعية والزراعة "
            "والتعليم على التحرك معاً بناءً على بيانات الإنذار المبكر."
        ),
        details=(
            "The scenario is based on real data from a district in the Sahel. The session ends "
            "with a short list of triggers and early actions that participants vote to recommend."
        ),
    ),
    Session(
        slug="informal-economy",
        kind="thematic",
        track=EMERGING,
        day=3,
        room="Room 1",
        start="13:30",
        duration="01:30",
        languages=("ar", "fr"),
        visibility="public",
        capacity=400,
        host="informal-workers-solidarity-network",
        speakers=("hmansour", "bqureshi", "acisse"),
        title={
            "en": "The informal economy: where most child labour is hidden",
            "ar": "الاقتصاد غير الرسمي: حيث يختبئ معظم عمل الأطفال",
            "fr": "L'économie informelle : là où se cache l'essentiel du travail des enfants",
        },
        abstract=(
            "Most child labour takes place on family farms, in family businesses and in informal "
            "work beyond the reach of regulation. Speakers discuss formalisation strategies that "
            "protect children without destroying the livelihoods of the poorest families."
        ),
        abstract_ar=(
            "يجري معظم عمل الأطفال في المزارع والمشاريع الأسرية وفي أعمال غير رسمية لا تطالها "
            "الأنظمة. ويناقش المتحدثون استراتيجيات للانتقال إلى الاقتصاد الرسمي تحمي الأطفال دون "
            "أن تقضي على مصادر رزق الأسر الأشد فقراً."
        ),
        details=(
            "The session brings together informal workers' organisations, municipalities and "
            "microfinance institutions, and looks at extending social security and childcare to "
            "self-employed workers."
        ),
    ),
    Session(
        slug="supply-chains-engine-room",
        kind="interactive",
        track=EMERGING,
        day=3,
        room="Room 2",
        start="13:30",
        duration="01:30",
        languages=("en", "ar"),
        visibility="registered",
        capacity=120,
        host=None,
        speakers=("anguyen", "malefebvre"),
        title={
            "en": "Engine room: mapping child labour risks across fragmented supply chains",
            "ar": "غرفة المحركات: رسم خريطة مخاطر عمل الأطفال عبر سلاسل التوريد المجزأة",
        },
        abstract=(
            "Participants trace a product from raw material to shop shelf and locate where child "
            "labour risks hide among subcontractors, intermediaries and home workers. Groups then "
            "design a shared remediation response for buyers, suppliers and public authorities."
        ),
        abstract_ar=(
            "يتتبع المشاركون منتَجاً من المادة الخام حتى رفوف المتاجر، ويحددون مواضع مخاطر عمل "
            "الأطفال المختبئة لدى المقاولين من الباطن والوسطاء والعاملين من منازلهم. ثم تصمم "
            "المجموعات استجابة مشتركة للمعالجة يشارك فيها المشترون والمورّدون والسلطات العامة."
        ),
        details=(
            "Cases are drawn from cocoa, garments and cobalt. The session considers how mandatory "
            "due diligence laws change the incentives of each actor in the chain."
        ),
    ),
    Session(
        slug="responsible-investment-engine-room",
        kind="interactive",
        track=EMERGING,
        day=3,
        room="Room 3",
        start="13:30",
        duration="01:30",
        languages=("en", "fr"),
        visibility="registered",
        capacity=80,
        host=None,
        speakers=("isolberg", "htanabe"),
        title={
            "en": "Engine room: responsible investment tools for children's rights",
            "ar": "غرفة المحركات: أدوات الاستثمار المسؤول لخدمة حقوق الطفل",
            "fr": (
                "Salle des machines : des outils d'investissement responsable au service des "
                "droits de l'enfant"
            ),
        },
        abstract=(
            "Investors, companies and civil society test a draft set of child labour indicators "
            "for investment portfolios. Groups decide which indicators are meaningful, which are "
            "measurable and which would change investment decisions."
        ),
        abstract_ar=(
            "يختبر المستثمرون والشركات ومنظمات المجتمع المدني مجموعة أولية من مؤشرات عمل الأطفال "
            "الخاصة بالمحافظ الاستثمارية. وتحدد المجموعات المؤشرات ذات الدلالة، والمؤشرات القابلة "
            "للقياس، وتلك التي من شأنها أن تغيّر قرارات الاستثمار."
        ),
        details=(
            "The indicators build on the investor expectations presented by the Responsible "
            "Capital Coalition on the virtual day. The results feed a public consultation after "
            "the conference."
        ),
    ),
    Session(
        slug="data-innovation",
        kind="thematic",
        track=EMERGING,
        day=3,
        room="Room 1",
        start="15:30",
        duration="01:30",
        languages=("en", "ar"),
        visibility="public",
        capacity=400,
        host="child-labour-data-centre",
        speakers=("ptavares", "ekowalska", "rvenkat"),
        title={
            "en": "Data innovation: new sources for measuring child labour",
            "ar": "الابتكار في البيانات: مصادر جديدة لقياس عمل الأطفال",
        },
        abstract=(
            "Satellite imagery, mobile phone surveys and administrative records offer faster and "
            "cheaper ways to track child labour between household surveys. Statisticians and "
            "researchers discuss what these sources can and cannot tell us, and how to use them "
            "responsibly."
        ),
        abstract_ar=(
            "توفر صور الأقمار الصناعية والمسوح عبر الهاتف المحمول والسجلات الإدارية طرقاً أسرع "
            "وأقل تكلفة لتتبع عمل الأطفال في الفترات الفاصلة بين المسوح الأسرية. ويناقش الإحصائيون "
            "والباحثون ما تستطيع هذه المصادر أن تكشفه وما لا تستطيعه، وكيفية استخدامها بمسؤولية."
        ),
        details=(
            "Presentations include a national statistics office that added child labour questions "
            "to its labour force survey and a research team that uses remote sensing to monitor "
            "artisanal mining sites."
        ),
    ),
    Session(
        slug="south-south-regional-cooperation",
        kind="thematic",
        track=EMERGING,
        day=3,
        room="Room 2",
        start="15:30",
        duration="01:30",
        languages=("en", "es"),
        visibility="public",
        capacity=250,
        host="south-south-cooperation-platform",
        speakers=("alferreira", "kbenali", "mdiarra"),
        title={
            "en": "South-South and regional cooperation: sharing what works across borders",
            "ar": "التعاون بين بلدان الجنوب والتعاون الإقليمي: تبادل ما ينجح عبر الحدود",
            "es": (
                "Cooperación Sur-Sur y regional: compartir lo que funciona más allá de las "
                "fronteras"
            ),
        },
        abstract=(
            "Countries facing similar challenges often learn fastest from each other. Regional "
            "bodies and ministries present peer reviews, joint training and shared monitoring "
            "frameworks, and propose new exchanges between Africa, the Arab region, Asia and Latin "
            "America."
        ),
        abstract_ar=(
            "كثيراً ما تكون البلدان التي تواجه تحديات متشابهة أسرع تعلّماً بعضها من بعض. وتعرض "
            "الهيئات الإقليمية والوزارات تجاربها في المراجعات بين الأقران والتدريب المشترك وأطر "
            "الرصد المشتركة، وتقترح أشكالاً جديدة من التبادل بين إفريقيا والمنطقة العربية وآسيا "
            "وأمريكا اللاتينية."
        ),
        details=(
            "The session follows up on the twinning programme discussed during the virtual day and "
            "invites countries to sign up as partners."
        ),
    ),
    Session(
        slug="technology-protection-engine-room",
        kind="interactive",
        track=EMERGING,
        day=3,
        room="Room 3",
        start="15:30",
        duration="01:30",
        languages=("ar", "en"),
        visibility="registered",
        capacity=80,
        host=None,
        speakers=("dsaleh", "sramirez", "cyutong"),
        title={
            "en": "Engine room: technology for protection, from helplines to case management",
            "ar": "غرفة المحركات: التكنولوجيا في خدمة الحماية، من خطوط النجدة إلى إدارة الحالات",
        },
        abstract=(
            "Participants test digital tools used by helplines, inspectors and social workers, and "
            "assess them for children's safety, privacy and accessibility. Each group drafts "
            "principles for adopting technology in child protection services."
        ),
        abstract_ar=(
            "يختبر المشاركون أدوات رقمية تستخدمها خطوط النجدة ومفتشو العمل والأخصائيون "
            "الاجتماعيون، ويقيّمونها من حيث سلامة الأطفال وخصوصيتهم وسهولة الوصول إليها. وتصوغ كل "
            "مجموعة مبادئ لاعتماد التكنولوجيا في خدمات حماية الطفل."
        ),
        details=(
            "The tools on the table include a case management system, a text-based helpline and an "
            "inspection app that works offline. Young members of a helpline's advisory group "
            "co-facilitate."
        ),
    ),
    Session(
        slug="open-space-emerging-challenges",
        kind="open_space",
        track=EMERGING,
        day=3,
        room="Plenary hall",
        start="17:15",
        duration="01:15",
        languages=LANGUAGES,
        visibility="public",
        capacity=200,
        host=None,
        speakers=("nkarim", "jmercier"),
        title={
            "en": "Open space: the challenges we are not yet talking about",
            "ar": "المساحة المفتوحة: التحديات التي لم نتحدث عنها بعد",
            "fr": "Espace ouvert : les défis dont nous ne parlons pas encore",
            "es": "Espacio abierto: los desafíos de los que aún no hablamos",
        },
        abstract=(
            "Participants propose the topics during the session and form small groups around them. "
            "The open space makes room for emerging risks and ideas that did not find a place in "
            "the formal programme."
        ),
        abstract_ar=(
            "يقترح المشاركون الموضوعات خلال الجلسة نفسها ويشكّلون مجموعات صغيرة حولها. وتتيح "
            "المساحة المفتوحة المجال للمخاطر والأفكار الناشئة التي لم تجد مكاناً لها في البرنامج "
            "الرسمي."
        ),
        details=(
            "Proposals can be posted on the platform during the day and upvoted by other "
            "participants. Each group leaves a short summary that is published with the conference "
            "report."
        ),
    ),
)

HORIZONS_DAY: tuple[Session, ...] = (
    Session(
        slug="next-generation-targets-africa",
        kind="thematic",
        track=HORIZONS,
        day=4,
        room="Plenary hall",
        start="09:00",
        duration="01:30",
        languages=("en", "fr", "ar"),
        visibility="public",
        capacity=1500,
        host="african-youth-network",
        speakers=("kmensah", "mlbah", "mdiarra"),
        title={
            "en": "Next-generation targets: Africa in the lead",
            "ar": "أهداف الجيل القادم: إفريقيا في الصدارة",
            "fr": "Les objectifs de la prochaine génération : l'Afrique en première ligne",
        },
        abstract=(
            "With Africa in the lead, the conference discusses the next generation of targets for "
            "ending child labour: ambitious, evidence-based and sensitive to regional differences. "
            "African ministers, regional bodies and young people present proposals for targets and "
            "milestones."
        ),
        abstract_ar=(
            "مع تصدّر إفريقيا للمشهد، يناقش المؤتمر أهداف الجيل القادم للقضاء على عمل الأطفال: "
            "أهداف طموحة، قائمة على الأدلة، ومراعية للفوارق الإقليمية. ويعرض وزراء أفارقة وهيئات "
            "إقليمية وشباب مقترحاتهم بشأن الأهداف ومعالمها المرحلية."
        ),
        details=(
            "The session builds on the youth proposals presented on the virtual day and on "
            "regional action plans. It asks how targets can be tracked with data that countries "
            "already collect, and how progress will be reviewed."
        ),
    ),
    Session(
        slug="follow-up-resource-mobilisation",
        kind="thematic",
        track=HORIZONS,
        day=4,
        room="Room 1",
        start="11:00",
        duration="01:30",
        languages=("en", "ar", "fr"),
        visibility="public",
        capacity=400,
        host=None,
        speakers=("gkamau", "oaltamimi", "isolberg"),
        title={
            "en": "Follow-up and resource mobilisation: making the next four years count",
            "ar": "المتابعة وحشد الموارد: لتكون السنوات الأربع المقبلة سنوات إنجاز",
            "fr": (
                "Suivi et mobilisation des ressources : faire des quatre prochaines années des "
                "années utiles"
            ),
        },
        abstract=(
            "Commitments only matter if someone tracks them and someone pays for them. "
            "Governments, donors and social partners discuss mechanisms to follow up progress, "
            "report on it publicly and mobilise domestic and international resources."
        ),
        abstract_ar=(
            "لا قيمة للالتزامات ما لم تُتابَع ويُوفَّر لها التمويل. وتناقش الحكومات والجهات "
            "المانحة والشركاء الاجتماعيون آليات متابعة التقدم والإبلاغ العلني عنه، وحشد الموارد "
            "المحلية والدولية."
        ),
        details=(
            "Options on the table include a voluntary national reporting cycle, peer review among "
            "pathfinder countries and a pooled fund for the countries with the highest prevalence. "
            "The session's conclusions go directly to the closing session."
        ),
    ),
    Session(
        slug="targets-engine-room",
        kind="interactive",
        track=HORIZONS,
        day=4,
        room="Room 3",
        start="11:00",
        duration="01:30",
        languages=("en", "fr"),
        visibility="registered",
        capacity=80,
        host=None,
        speakers=("gkamau", "rvenkat"),
        title={
            "en": "Engine room: from global targets to national milestones",
            "ar": "غرفة المحركات: من الأهداف العالمية إلى المعالم الوطنية المرحلية",
            "fr": "Salle des machines : des objectifs mondiaux aux jalons nationaux",
        },
        abstract=(
            "Country teams translate the proposed next-generation targets into national milestones "
            "for the next four years. Facilitators help each team identify the data, budget and "
            "partners it will need."
        ),
        abstract_ar=(
            "تترجم الفرق القُطرية أهداف الجيل القادم المقترحة إلى معالم وطنية مرحلية للسنوات "
            "الأربع المقبلة. ويساعد الميسّرون كل فريق على تحديد ما سيحتاج إليه من بيانات وميزانية "
            "وشركاء."
        ),
        details=(
            "Teams leave with a one-page draft roadmap. Those who wish can publish it on the "
            "platform as a voluntary commitment."
        ),
    ),
    Session(
        slug="closing-outcome-document",
        kind="closing",
        track=HIGH_LEVEL,
        day=4,
        room="Plenary hall",
        start="14:30",
        duration="01:30",
        languages=LANGUAGES,
        visibility="public",
        capacity=1500,
        host=None,
        speakers=("hchraibi", "oaltamimi", "msesay", "kmensah"),
        title={
            "en": "Closing session: adoption of the outcome document",
            "ar": "الجلسة الختامية: اعتماد الوثيقة الختامية",
            "fr": "Séance de clôture : adoption du document final",
            "es": "Sesión de clausura: aprobación del documento final",
        },
        abstract=(
            "The conference adopts its outcome document, a roadmap for the next four years that "
            "strengthens the political will of member states and partners. Delegations, social "
            "partners and young people deliver closing statements."
        ),
        abstract_ar=(
            "يعتمد المؤتمر وثيقته الختامية، وهي خارطة طريق للسنوات الأربع المقبلة تعزز الإرادة "
            "السياسية للدول الأعضاء والشركاء. ويلقي ممثلو الوفود والشركاء الاجتماعيين والشباب "
            "كلماتهم الختامية."
        ),
        details=(
            "Rapporteurs report back from the sessions on targets and follow-up, the final text is "
            "presented for adoption, and the host of the next global conference is announced. The "
            "session closes with a message from the survivor who opened the in-person days."
        ),
    ),
)

SESSIONS: tuple[Session, ...] = VIRTUAL_DAY + SCALING_DAY + EMERGING_DAY + HORIZONS_DAY


def demo_schedule(virtual_day: date) -> dict[str, Any]:
    """The demo conference, its virtual day on ``virtual_day``, as a schedule document."""
    return {
        "version": "sidestage-demo-1",
        "base_url": BASE_URL,
        "conference": {
            "acronym": ACRONYM,
            "title": TITLE,
            "start": virtual_day.isoformat(),
            "end": _day_date(virtual_day, 4).isoformat(),
            "daysCount": 4,
            "timeslot_duration": "00:15",
            "time_zone_name": TIME_ZONE_NAME,
            "rooms": [_room(room) for room in ROOMS],
            "tracks": [track._asdict() for track in TRACKS],
            "days": [_day(virtual_day, index) for index in range(1, 5)],
            "meta": {"sidestage": _sidestage_meta()},
        },
    }


def _guid(key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, key))


def _day_date(virtual_day: date, index: int) -> date:
    return virtual_day + timedelta(days=index - 1)


def _local(day: date, clock: time) -> datetime:
    # zoneinfo gives each date its own offset (Morocco moves to UTC+0 for Ramadan).
    return datetime.combine(day, clock, tzinfo=TIME_ZONE)


def _room(room: Room) -> dict[str, Any]:
    return {
        "name": room.name,
        "guid": _guid(f"room:{room.name}"),
        "type": room.type,
        "capacity": room.capacity,
    }


def _day(virtual_day: date, index: int) -> dict[str, Any]:
    day = _day_date(virtual_day, index)
    return {
        "index": index,
        "date": day.isoformat(),
        "day_start": _local(day, DAY_START).isoformat(),
        "day_end": _local(day, DAY_END).isoformat(),
        "rooms": _day_rooms(day, index),
    }


def _day_rooms(day: date, index: int) -> dict[str, list[dict[str, Any]]]:
    rooms: dict[str, list[dict[str, Any]]] = {}
    for room in ROOMS:
        events = [
            _event(event_id, session, day)
            for event_id, session in _numbered_sessions()
            if session.day == index and session.room == room.name
        ]
        if events:
            rooms[room.name] = sorted(events, key=lambda event: event["start"])
    return rooms


def _numbered_sessions() -> list[tuple[int, Session]]:
    # Event ids follow the order of SESSIONS, so they are stable across calls.
    return list(enumerate(SESSIONS, start=1))


def _event(event_id: int, session: Session, day: date) -> dict[str, Any]:
    return {
        "guid": _guid(session.slug),
        "id": event_id,
        "date": _local(day, time.fromisoformat(session.start)).isoformat(),
        "start": session.start,
        "duration": session.duration,
        "room": session.room,
        "slug": session.slug,
        "url": f"{BASE_URL}sessions/{session.slug}",
        "title": session.title["en"],
        "subtitle": "",
        "track": session.track,
        "type": session.kind,
        "language": session.languages[0],
        "abstract": session.abstract,
        "description": _description(session),
        "logo": None,
        "recording_license": "",
        "do_not_record": False,
        "persons": [_person(key) for key in session.speakers],
        "links": [],
        "attachments": [],
    }


def _description(session: Session) -> str:
    parts = [session.abstract, session.details]
    if session.host is not None:
        role = "Host" if session.kind == "side_event" else "Partner"
        parts.append(f"{role}: {_organization_name(session.host)}.")
    return " ".join(parts)


def _organization_name(slug: str) -> str:
    return next(org.name for org in ORGANIZATIONS if org.slug == slug)


def _person(key: str) -> dict[str, str]:
    person = PEOPLE[key]
    return {"guid": _guid(f"person:{key}"), "name": person.name, "biography": person.biography}


def _sidestage_meta() -> dict[str, Any]:
    return {
        "languages": list(LANGUAGES),
        "title_translations": dict(TITLE_TRANSLATIONS),
        "organizations": [_organization(org) for org in ORGANIZATIONS],
        "sessions": {_guid(session.slug): _session_meta(session) for session in SESSIONS},
    }


def _organization(org: Organization) -> dict[str, Any]:
    return {
        "slug": org.slug,
        "name": org.name,
        "name_translations": dict(org.translations),
        "url": f"https://{org.slug}.invalid/",
    }


def _session_meta(session: Session) -> dict[str, Any]:
    return {
        "kind": session.kind,
        "visibility": session.visibility,
        "capacity": session.capacity,
        "host": session.host,
        "stream_url": None,
        "languages": list(session.languages),
        "title_translations": {lang: text for lang, text in session.title.items() if lang != "en"},
        "abstract_translations": {"ar": session.abstract_ar},
    }
