"""The demo study `load_demo` writes: Northwind Mobile (a UK mobile network), first month of new
customers. Invented people and events; pure data, no Django.

Transcripts are one turn per line, "Speaker: words". Excerpts name a document key, a coder, a
code and an exact phrase that must occur once in that document's text.
"""
# ruff: noqa: E501  (prose is kept one sentence or turn per line so it reads as written)

from typing import Any

SLUG = "telco-onboarding"
NAME = "Northwind Mobile — first month"
DESCRIPTION = (
    "Why do customers who join Northwind Mobile contact us so often in their first month? "
    "Store observation and follow-up interviews with new pay-monthly and SIM-only customers, "
    "February 2026. Themes are read against the data-science team's onboarding segments."
)
DEFAULT_PASSWORD = "verbatim-demo"  # noqa: S105  (printed on purpose; demo logins only)

# username, role, display name. The researcher interviews and observes; the coder and the
# researcher both code, so agreement can be measured.
USERS = [
    ("owner", "owner", "Olivia Grant"),
    ("researcher", "researcher", "Priya Shah"),
    ("coder", "coder", "Tom Okafor"),
    ("manager", "manager", "Mark Ellis"),
]

# fmt: off
PARTICIPANTS: list[dict[str, Any]] = [
    {"pseudonym": "P01", "customer_ref": "NWM-C-0048213", "attributes": {"age_band": "25-34", "plan": "Handset 24 months", "joined_via": "store", "ported_number": True, "region": "Leeds"}, "consent": {"recording": True, "quotes": True, "date": "2026-02-26"}},
    {"pseudonym": "P02", "customer_ref": "NWM-C-0051977", "attributes": {"age_band": "35-44", "plan": "SIM-only 30 days, 12GB", "joined_via": "online", "ported_number": False, "region": "Leeds"}, "consent": {"recording": True, "quotes": True, "date": "2026-02-27"}},
    {"pseudonym": "P03", "customer_ref": "NWM-C-0049360", "attributes": {"age_band": "70+", "plan": "Handset 24 months", "joined_via": "online", "ported_number": True, "region": "Leeds"}, "consent": {"observation": True, "quotes": True, "date": "2026-02-14"}},
    {"pseudonym": "P04", "customer_ref": "NWM-C-0050712", "attributes": {"age_band": "18-24", "plan": "SIM-only 12 months, unlimited", "joined_via": "online", "ported_number": False, "region": "Wakefield"}, "consent": {"observation": True, "quotes": True, "date": "2026-02-14"}},
]
# fmt: on

SESSION: dict[str, Any] = {
    "title": "Briggate store, Saturday onboarding desk",
    "site": "Northwind Mobile, Briggate, Leeds",
    "channel": "store",
    "journey_stage": "onboarding",
    "date": "2026-02-14",
    "started_at": "10:00",
    "ended_at": "13:00",
    "context": "Busiest trading day. One advisor on the onboarding desk (collections, activations, set-up help), two on sales. Observer sat beside the onboarding desk with the store manager's agreement; customers were asked before any notes about them were taken.",
    "goals": "See which first-month problems reach the store, how advisors solve them, and how much of the desk's time goes on customers who joined online.",
    "participants": ["P03", "P04"],
}

# time, kind, participant pseudonym or None, text
# fmt: off
NOTES: list[tuple[str, str, str | None, str]] = [
    ("10:05", "observation", None, "Queue of six at opening; four of them are collecting or activating new phones rather than buying."),
    ("10:18", "observation", "P03", "P03 hands the advisor a carrier bag with his old phone, the new one and the welcome letter. Advisor transfers contacts and WhatsApp, sets up the app for him and writes his account number on the welcome letter."),
    ("10:26", "quote", "P03", "“My granddaughter ordered it for me online but I wasn't going to touch it till someone showed me.”"),
    ("10:40", "observation", "P04", "P04 has had “no service” since yesterday. The advisor checks and finds the SIM was never activated after the online order. SIM swap done at the desk, 12 minutes including the ID check."),
    ("10:52", "quote", "P04", "“I thought I'd done something wrong. The leaflet says it activates automatically.”"),
    ("11:10", "interpretation", None, "The store is quietly acting as the activation help desk for online sales: about half of this morning's desk customers bought online."),
    ("11:35", "observation", "P04", "Advisor explains the first bill to P04 by drawing a timeline on the back of a receipt: part month, then the month ahead. P04 photographs it."),
    ("11:50", "interpretation", None, "The drawn timeline does what the bill does not: it ties each amount to dates. Idea to take to the billing team."),
    ("12:20", "question", None, "Do advisors get any credit for set-up help on online sales, or is it invisible work?"),
    ("12:40", "quote", None, "Advisor: “Half my Saturday is fixing things that should have just worked.”"),
]
# fmt: on

TRANSCRIPTS: list[dict[str, Any]] = [
    {
        "key": "p01",
        "title": "Interview P01: ported number, first month",
        "participant": "P01",
        "interviewer": "Priya",
        "recorded_at": "2026-02-26T14:00:00+00:00",
        "source_name": "P01-interview-2026-02-26.txt",
        "text": """\
Priya: Thanks for making time. To start, can you take me back to the day you joined Northwind?
P01: Yeah, it was a Saturday, the seventh. I'd been with my old network about six years and the contract was up, so I walked into the Briggate shop to look at phones.
Priya: What made you walk in rather than do it online?
P01: I wanted to hold the phone first, and honestly I wanted somebody to tell me I wasn't going to lose my number.
Priya: And did someone tell you that?
P01: The advisor, Jamal, was brilliant. He said bring your PAC code and we'll keep your number, it moves over the next working day, job done.
Priya: How did you get the PAC code?
P01: You text PAC to a short number and it comes straight back. That part was easy, I did it standing at the counter.
Priya: So what happened next?
P01: I left with the new phone on a temporary number, which he said was normal. Sunday nothing. Monday nothing. By Tuesday I still had the temporary number and nobody could reach me.
Priya: What did that mean for you day to day?
P01: My bank sends the security codes by text to my old number, so I couldn't pay for anything online. I couldn't even log in to the Northwind app, because it wanted a code sent to the number that wasn't working.
Priya: That sounds circular.
P01: Completely circular. The app kept saying "we've sent a code to your mobile" and I'm holding the mobile, and nothing comes.
Priya: Did you try to contact Northwind?
P01: I tried the chat in the app first, but you have to log in for that, so no. Then the website chat, which was a bot. It asked me to choose from five options and none of them was "my number hasn't moved".
Priya: How did that feel?
P01: Like shouting into a cupboard. I gave up after about twenty minutes and rang the helpline from a friend's phone.
Priya: And what happened on the call?
P01: Forty minutes on hold. The person was nice, but she said the port had been rejected because the name on the request didn't match. My old account was under my maiden name.
Priya: Had anyone mentioned that could happen?
P01: Never. If Jamal had asked "is your old account in the same name" it would have taken ten seconds.
Priya: So how did it get resolved?
P01: In the end I went back to the shop on the Wednesday. Jamal recognised me, said "oh no, not you", and sorted it on his screen in about five minutes. My number was working by teatime.
Priya: What do you think he did differently from the phone line?
P01: He could actually see what I could see. The woman on the phone kept reading me a script; he turned the screen round and showed me the rejected request.
Priya: Let's move to the first bill. When did that arrive?
P01: About two weeks in. It was sixty-one pounds, and my plan is thirty-four a month, so my heart sank.
Priya: What did you think had happened?
P01: I honestly thought they'd charged me twice, once for the temporary number and once for my real one.
Priya: Did you find out what it was?
P01: There was a line that said "part month charge" and another that said "advance charge", but no explanation. I only understood when my brother explained pro rata to me.
Priya: If you could change one thing about that first month, what would it be?
P01: Just tell me what's going to happen. Tell me the first bill is bigger and why, and tell me the number might not move if the names don't match. I don't mind problems, I mind surprises.
Priya: That's really helpful, thank you.
""",
    },
    {
        "key": "p02",
        "title": "Interview P02: eSIM and roaming, first month",
        "participant": "P02",
        "interviewer": "Priya",
        "recorded_at": "2026-02-27T12:30:00+00:00",
        "source_name": "P02-interview-2026-02-27.txt",
        "text": """\
Priya: Thanks for joining. You signed up online, is that right?
P02: Yes, SIM-only, the twelve gig thirty-day one. It was the cheapest on the comparison site, and I didn't want to be tied in.
Priya: Talk me through getting it set up.
P02: I picked eSIM because I thought it would be instant. The email said scan the QR code from another screen, so I opened it on my laptop and scanned it with the phone.
Priya: And did that work?
P02: It said "cellular plan added" and then "no service" for the whole evening. I restarted it maybe six times.
Priya: What did you do about it?
P02: I went into the app to check, but the login wanted my account number, and the account number was in a welcome email I couldn't find. It had gone to my junk folder.
Priya: Once you found it?
P02: Then it asked for a one-time code, which it texted to the eSIM, which had no service. So I was stuck in a loop.
Priya: How long did that go on?
P02: Two days, on and off. I used my old phone for calls in the meantime.
Priya: Did you contact anyone?
P02: I tried the chatbot on the website. It kept sending me a help article about how to scan a QR code, which I had already done. There was no button to get a person.
Priya: So how did it get fixed?
P02: I gave up and went into the store near work on the Saturday. The guy there said eSIMs sometimes get stuck on activation and offered me a physical SIM instead. He did a SIM swap on the spot and it worked in ten minutes.
Priya: How did you feel about going in, having chosen online?
P02: A bit annoyed, to be honest. The whole point was not going into a shop. But he was good, he didn't make me feel stupid.
Priya: Let's talk about bills. Has anything surprised you?
P02: Oh, the roaming. I went to Paris for work in the second week and I assumed Europe was included, because it used to be.
Priya: What happened?
P02: I got a text saying "Welcome to France, roaming charges apply" and a link. I didn't click it. When the bill came there was twenty-two pounds fifty of daily roaming on top of my ten pound plan.
Priya: How did you react?
P02: I felt a bit stupid and a bit cheated at the same time. It says it on the website somewhere, I'm sure, but it's not on the page where you buy it.
Priya: Did you challenge it?
P02: I rang up. This time I got a real person fairly quickly, maybe eight minutes, and he was great. He explained the daily charge and put half of it back as a goodwill credit.
Priya: What made that call work?
P02: He didn't read from anything. He said "yeah, loads of people get caught by this", which made me feel less daft, and he told me how to add the Europe pass next time.
Priya: Overall, how would you describe your first month?
P02: The phone bit is fine now. But everything around it, getting in, understanding the charges, felt like it was designed for someone who already knows how it works.
Priya: Anything else you'd like to add?
P02: Only that the app should let you log in some other way when your number isn't working. That's exactly when you need it.
Priya: Thank you, that's everything.
""",
    },
]

# Themes with their child codes. Okabe-Ito hues for themes, tints and shades of the same hue
# for their children, so a theme's codes read as a family.
CODEBOOK: list[dict[str, Any]] = [
    {
        "name": "Activation friction",
        "color": "#0072B2",
        "description": "Anything between signing up and having a working number and account in the first days.",
        "children": [
            {
                "name": "Number porting",
                "color": "#56B4E9",
                "description": "Moving an existing number from another network: PAC codes, delayed or rejected ports.",
                "inclusion_notes": "Include worry about losing the number before the move happens.",
                "exclusion_notes": "A new SIM that never connected is SIM and eSIM setup, not porting.",
                "example": "The port had been rejected because the name on the request didn't match.",
                "patterns": [
                    {"type": "keyword", "text": "port"},
                    {"type": "phrase", "text": "old number"},
                ],
            },
            {
                "name": "SIM and eSIM setup",
                "color": "#1F5F8B",
                "description": "Getting a new physical SIM or eSIM to connect, including SIM swaps and activations that never happened.",
                "patterns": [
                    {"type": "keyword", "text": "eSIM"},
                    {
                        "type": "tokens",
                        "pattern": [{"LOWER": "sim"}, {"LOWER": {"IN": ["swap", "card"]}}],
                    },
                ],
            },
            {
                "name": "Locked out of account",
                "color": "#2A9DB5",
                "description": "Cannot log in to the app or website: missing account numbers, one-time codes sent to a phone that does not work.",
                "exclusion_notes": "Chat that needs a login is Chatbot dead end when the complaint is about the chat itself.",
            },
            {
                "name": "Left without service",
                "color": "#7FA7C9",
                "description": "Days without a working number and what that cost the customer: missed calls, bank codes, payments.",
            },
        ],
    },
    {
        "name": "Billing clarity",
        "color": "#D55E00",
        "description": "Whether the customer can predict and understand what they are charged.",
        "children": [
            {
                "name": "First bill shock",
                "color": "#E69F00",
                "description": "Surprise at the size of the first bill, usually a part-month charge plus the month ahead.",
                "inclusion_notes": "Include misreadings, such as believing they were charged twice.",
                "exclusion_notes": "Charges for usage outside the plan go to Roaming and add-ons.",
                "patterns": [{"type": "phrase", "text": "first bill"}],
            },
            {
                "name": "Roaming and add-ons",
                "color": "#A6430A",
                "description": "Charges outside the plan allowance that the customer did not expect, such as daily roaming.",
                "patterns": [{"type": "keyword", "text": "roaming"}],
            },
            {
                "name": "Price not as promised",
                "color": "#8C5A00",
                "description": "The price paid is not the deal the customer believes they signed up for: a discount or cashback not applied, a fee added at checkout, a rise announced soon after joining.",
                "inclusion_notes": "Include a price rise the customer learns of in the first month.",
                "exclusion_notes": "A first bill that is larger only because of the part month is First bill shock.",
            },
            {
                "name": "Explaining the bill",
                "color": "#F2A66B",
                "description": "Someone or something making a charge understandable: an advisor's drawing, a clear call, help text.",
                "exclusion_notes": "Not the confusion itself; code that as First bill shock.",
            },
        ],
    },
    {
        "name": "Human help",
        "color": "#009E73",
        "description": "People, and the bots that stand in for them, who help or fail to help a new customer.",
        "children": [
            {
                "name": "Store staff rescue",
                "color": "#5CC0A0",
                "description": "A store advisor fixes a problem that started elsewhere: online, on the phone or in the app.",
                "exclusion_notes": "Routine sales conversations with nothing to fix.",
            },
            {
                "name": "Contact centre call",
                "color": "#00664A",
                "description": "Phone support as the customer lived it: waits, scripts, tone, credits.",
            },
            {
                "name": "Chatbot dead end",
                "color": "#8FB83E",
                "description": "Self-service chat or help articles that fail to give an answer or a route to a person.",
                "patterns": [
                    {"type": "keyword", "text": "chatbot"},
                    {"type": "phrase", "text": "help article"},
                ],
            },
        ],
    },
]

# document key ("p01", "p02" or "notes"), coder, code, exact phrase. Overlaps and a few
# disagreements (same passage, different code) are deliberate: agreement analysis needs them.
# fmt: off
EXCERPTS: list[tuple[str, str, str, str]] = [
    ("p01", "researcher", "Number porting", "honestly I wanted somebody to tell me I wasn't going to lose my number"),
    ("p01", "coder", "Number porting", "I wanted somebody to tell me I wasn't going to lose my number."),
    ("p01", "researcher", "Left without service", "By Tuesday I still had the temporary number and nobody could reach me."),
    ("p01", "coder", "Left without service", "My bank sends the security codes by text to my old number, so I couldn't pay for anything online."),
    ("p01", "researcher", "Locked out of account", "I couldn't even log in to the Northwind app, because it wanted a code sent to the number that wasn't working."),
    ("p01", "coder", "Locked out of account", "The app kept saying \"we've sent a code to your mobile\" and I'm holding the mobile, and nothing comes."),
    ("p01", "researcher", "Chatbot dead end", "Then the website chat, which was a bot. It asked me to choose from five options and none of them was \"my number hasn't moved\"."),
    ("p01", "coder", "Chatbot dead end", "It asked me to choose from five options and none of them was \"my number hasn't moved\"."),
    ("p01", "researcher", "Contact centre call", "Forty minutes on hold."),
    ("p01", "coder", "Number porting", "the port had been rejected because the name on the request didn't match. My old account was under my maiden name."),
    ("p01", "researcher", "Store staff rescue", 'Jamal recognised me, said "oh no, not you", and sorted it on his screen in about five minutes.'),
    ("p01", "coder", "Number porting", 'Jamal recognised me, said "oh no, not you", and sorted it on his screen in about five minutes.'),
    ("p01", "coder", "Contact centre call", "The woman on the phone kept reading me a script"),
    ("p01", "researcher", "First bill shock", "It was sixty-one pounds, and my plan is thirty-four a month, so my heart sank."),
    ("p01", "researcher", "First bill shock", "I honestly thought they'd charged me twice, once for the temporary number and once for my real one."),
    ("p01", "coder", "Explaining the bill", "I honestly thought they'd charged me twice, once for the temporary number and once for my real one."),
    ("p01", "researcher", "Billing clarity", "I don't mind problems, I mind surprises."),
    ("p02", "researcher", "SIM and eSIM setup", 'It said "cellular plan added" and then "no service" for the whole evening.'),
    ("p02", "coder", "SIM and eSIM setup", 'It said "cellular plan added" and then "no service" for the whole evening. I restarted it maybe six times.'),
    ("p02", "researcher", "Locked out of account", "Then it asked for a one-time code, which it texted to the eSIM, which had no service."),
    ("p02", "coder", "SIM and eSIM setup", "Then it asked for a one-time code, which it texted to the eSIM, which had no service."),
    ("p02", "coder", "Chatbot dead end", "It kept sending me a help article about how to scan a QR code, which I had already done. There was no button to get a person."),
    ("p02", "researcher", "SIM and eSIM setup", "He did a SIM swap on the spot and it worked in ten minutes."),
    ("p02", "coder", "Store staff rescue", "He did a SIM swap on the spot and it worked in ten minutes."),
    ("p02", "researcher", "Roaming and add-ons", "there was twenty-two pounds fifty of daily roaming on top of my ten pound plan"),
    ("p02", "coder", "Roaming and add-ons", "When the bill came there was twenty-two pounds fifty of daily roaming on top of my ten pound plan."),
    ("p02", "coder", "Contact centre call", "This time I got a real person fairly quickly, maybe eight minutes, and he was great."),
    ("notes", "researcher", "SIM and eSIM setup", "the SIM was never activated after the online order"),
    ("notes", "researcher", "Explaining the bill", "Advisor explains the first bill to P04 by drawing a timeline on the back of a receipt"),
    ("notes", "coder", "Store staff rescue", "Advisor explains the first bill to P04 by drawing a timeline on the back of a receipt"),
]
# fmt: on

# author, title, text, and what it is about: "code" name, "document" key, or "excerpt"
# (document key, coder, code, phrase) matching an entry of EXCERPTS.
MEMOS: list[dict[str, Any]] = [
    {
        "author": "owner",
        "title": "Study aim",
        "text": "New customers contact us far more in their first month than the journey design assumes. Find out why, in their words, and read the themes against the onboarding segments.",
    },
    {
        "author": "researcher",
        "title": "Ports fail on details nobody asks about",
        "text": "P01's port failed on a name mismatch that one question at the counter would have caught. Ask store operations whether the PAC step can prompt for the name on the old account.",
        "code": "Number porting",
    },
    {
        "author": "coder",
        "title": "Online sale, store fix",
        "text": "P02 chose online to avoid a shop and ended up in one. Same pattern as P04 in the Briggate notes.",
        "document": "p02",
    },
    {
        "author": "researcher",
        "title": "Misreadings belong to bill shock",
        "text": "We split on this passage. Agreed: a misreading of the bill is First bill shock; I added an inclusion note saying so.",
        "excerpt": (
            "p01",
            "coder",
            "Explaining the bill",
            "I honestly thought they'd charged me twice, once for the temporary number and once for my real one.",
        ),
    },
]
