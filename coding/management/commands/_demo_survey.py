"""The demo's open survey: one question sent to new Northwind Mobile customers after their first
month, answered by 36 of them (P05–P40, twelve per onboarding segment). Pure data, no Django.

Each respondent is a participant with one `survey` document (the answer, as the survey importer
stores it) and the excerpts the researcher, and for some answers the coder, gave it.

The picture is designed, and tests/coding/test_demo_picture.py holds it to its shape, so the
manager dashboard has something true to show on first run:

* Billing clarity is what Price hunters write about (10 of their 13 participants, against 2 of 13
  Digital natives and 3 of 14 Store loyalists): a clear theme × segment difference.
* Activation friction and Human help are as common in every segment (about half). Within Human
  help the channel differs (Store loyalists were rescued in the store, Digital natives met the
  chatbot, Price hunters rang the helpline), which only the child codes show.
* First-year spend (set per respondent in `_demo_segments`) is higher for those who got human
  help in their first month, in every segment; Activation friction has no bearing on it.
"""
# ruff: noqa: E501  (one answer per line so it reads as written)

from typing import Any

TITLE = "First-month survey"
QUESTION = "What was the hardest part of your first month with Northwind Mobile?"
SOURCE_NAME = "first_month_survey_2026-03.csv"

DN, SL, PH = "Digital natives", "Store loyalists", "Price hunters"


def _respondent(
    pseudonym: str,
    customer_ref: str,
    segment: str,
    spend: float,
    profile: tuple[str, str, str, bool, str],
    answered: str,
    answer: str,
    excerpts: list[tuple[str, str, str]],
) -> dict[str, Any]:
    age_band, plan, joined_via, ported, region = profile
    return {
        "pseudonym": pseudonym,
        "customer_ref": customer_ref,
        "segment": segment,
        "first_year_spend": spend,
        "attributes": {
            "age_band": age_band,
            "plan": plan,
            "joined_via": joined_via,
            "ported_number": ported,
            "region": region,
        },
        "consent": {"survey": True, "quotes": True, "date": answered},
        "answered": answered,
        "answer": answer,
        "excerpts": excerpts,
    }


SIM30 = "SIM-only 30 days, 12GB"
SIM12 = "SIM-only 12 months, unlimited"
SIM12S = "SIM-only 12 months, 30GB"
H24 = "Handset 24 months"
H36 = "Handset 36 months"

# pseudonym, customer ref, segment, first-year spend (£), (age band, plan, joined via, ported
# number, region), date answered, answer, excerpts as (coder, code, exact phrase).
# fmt: off
RESPONDENTS: list[dict[str, Any]] = [
    _respondent("P05", "NWM-C-0052104", DN, 620.11, ("25-34", SIM12, "online", False, "Leeds"), "2026-03-02",
                "The eSIM QR code expired before I got round to scanning it, and the app just said \"something went wrong\". The chat assistant kept offering me the same three articles and never a person. In the end I found a fresh code buried in a second email.",
                [("researcher", "SIM and eSIM setup", "The eSIM QR code expired before I got round to scanning it"),
                 ("researcher", "Chatbot dead end", "The chat assistant kept offering me the same three articles and never a person."),
                 ("coder", "Chatbot dead end", "kept offering me the same three articles and never a person")]),
    _respondent("P06", "NWM-C-0047791", SL, 831.44, ("55-64", H24, "phone", False, "Bradford"), "2026-03-02",
                "The SIM that came in the post didn't work at all. I took it to the shop on Commercial Street and the lady there swapped it and checked it worked before I left.",
                [("researcher", "SIM and eSIM setup", "The SIM that came in the post didn't work at all."),
                 ("researcher", "Store staff rescue", "the lady there swapped it and checked it worked before I left"),
                 ("coder", "Store staff rescue", "I took it to the shop on Commercial Street and the lady there swapped it and checked it worked before I left.")]),
    _respondent("P07", "NWM-C-0053318", PH, 281.15, ("35-44", SIM30, "online", False, "Wakefield"), "2026-03-02",
                "The £5-a-month discount I signed up for wasn't on my first bill. I had screenshots of the offer, but it's still not been applied.",
                [("researcher", "Price not as promised", "The £5-a-month discount I signed up for wasn't on my first bill."),
                 ("coder", "First bill shock", "The £5-a-month discount I signed up for wasn't on my first bill.")]),
    _respondent("P08", "NWM-C-0052260", DN, 335.87, ("18-24", SIM12, "online", True, "Leeds"), "2026-03-02",
                "Logging in. Two-factor codes go to the number I was moving away from, so for three days the app was useless to me.",
                [("researcher", "Locked out of account", "Two-factor codes go to the number I was moving away from, so for three days the app was useless to me.")]),
    _respondent("P09", "NWM-C-0046025", SL, 736.49, ("70+", H24, "store", False, "Harrogate"), "2026-03-03",
                "Setting up the new phone itself. I'm not good with technology, so I went back into the store twice and the young man moved my photos and WhatsApp over without any fuss.",
                [("researcher", "Store staff rescue", "I went back into the store twice and the young man moved my photos and WhatsApp over without any fuss.")]),
    _respondent("P10", "NWM-C-0053542", PH, 443.14, ("25-34", SIM30, "online", False, "Leeds"), "2026-03-03",
                "My first bill was £41 when the deal was £12 a month. The man on the phone explained it was a part month plus the month ahead, which would have been nice to know before, but he was patient about it.",
                [("researcher", "First bill shock", "My first bill was £41 when the deal was £12 a month."),
                 ("researcher", "Explaining the bill", "The man on the phone explained it was a part month plus the month ahead"),
                 ("researcher", "Contact centre call", "he was patient about it"),
                 ("coder", "Contact centre call", "The man on the phone explained it was a part month plus the month ahead")]),
    _respondent("P11", "NWM-C-0052377", DN, 545.11, ("25-34", H24, "online", False, "York"), "2026-03-03",
                "Getting an actual answer out of the help chat. I asked whether my plan included hotspot use and it sent me a link to the plan page, which doesn't say.",
                [("researcher", "Chatbot dead end", "I asked whether my plan included hotspot use and it sent me a link to the plan page, which doesn't say.")]),
    _respondent("P12", "NWM-C-0045870", SL, 565.40, ("45-54", H24, "store", True, "Leeds"), "2026-03-03",
                "Keeping my old number. I've had it for nineteen years and the PAC code I was given had expired by the time the transfer went through, so we had to start again.",
                [("researcher", "Number porting", "the PAC code I was given had expired by the time the transfer went through, so we had to start again.")]),
    _respondent("P13", "NWM-C-0053601", PH, 265.20, ("45-54", SIM30, "online", True, "Bradford"), "2026-03-03",
                "Two things: my number took a week to port, and I got charged for calls to an 0845 number that I thought were free. Neither was the end of the world but both cost me.",
                [("researcher", "Number porting", "my number took a week to port"),
                 ("researcher", "Roaming and add-ons", "I got charged for calls to an 0845 number that I thought were free")]),
    _respondent("P14", "NWM-C-0052418", DN, 524.91, ("25-34", SIM12S, "online", True, "Leeds"), "2026-03-04",
                "My number port was scheduled for a Friday and then silently moved to Monday. Nobody told me; I only found out after 25 minutes on hold to the helpline. The agent was apologetic but couldn't speed it up.",
                [("researcher", "Number porting", "My number port was scheduled for a Friday and then silently moved to Monday."),
                 ("researcher", "Contact centre call", "I only found out after 25 minutes on hold to the helpline."),
                 ("coder", "Number porting", "silently moved to Monday. Nobody told me")]),
    _respondent("P15", "NWM-C-0046413", SL, 776.10, ("65-69", H24, "store", True, "Wakefield"), "2026-03-04",
                "I had no signal for two days after switching and my daughter couldn't get hold of me, which worried her sick. The staff at the Westgate branch found the fault in minutes.",
                [("researcher", "Left without service", "I had no signal for two days after switching"),
                 ("researcher", "Store staff rescue", "The staff at the Westgate branch found the fault in minutes.")]),
    _respondent("P16", "NWM-C-0053877", PH, 458.97, ("35-44", SIM12S, "online", False, "Huddersfield"), "2026-03-04",
                "The cashback I was promised needed a claim form that wasn't mentioned when I bought. Then the SIM didn't activate for a day. When I finally got through on the phone after 50 minutes, they said the cashback window had closed.",
                [("researcher", "Price not as promised", "The cashback I was promised needed a claim form that wasn't mentioned when I bought."),
                 ("researcher", "SIM and eSIM setup", "Then the SIM didn't activate for a day."),
                 ("researcher", "Contact centre call", "When I finally got through on the phone after 50 minutes")]),
    _respondent("P17", "NWM-C-0052533", DN, 355.52, ("18-24", SIM12, "online", False, "Leeds"), "2026-03-04",
                "Nothing major. Coverage inside my flat is weaker than the map suggested, but wifi calling sorts it.",
                []),
    _respondent("P18", "NWM-C-0045129", SL, 623.80, ("55-64", H36, "store", False, "York"), "2026-03-05",
                "The first bill. It was nearly double what I'd been told and I had to ask my son to go through it with me.",
                [("researcher", "First bill shock", "It was nearly double what I'd been told"),
                 ("coder", "First bill shock", "It was nearly double what I'd been told and I had to ask my son to go through it with me.")]),
    _respondent("P19", "NWM-C-0054012", PH, 161.92, ("18-24", SIM30, "online", False, "Leeds"), "2026-03-05",
                "Paying for a month I'd barely used. The first bill charged in advance and for the days before, and on a tight budget that hurts.",
                [("researcher", "First bill shock", "The first bill charged in advance and for the days before, and on a tight budget that hurts."),
                 ("coder", "First bill shock", "The first bill charged in advance and for the days before")]),
    _respondent("P20", "NWM-C-0052689", DN, 369.37, ("25-34", SIM12, "online", False, "Harrogate"), "2026-03-05",
                "I added a 5GB data boost in the app thinking it was a one-off, and it turned out to renew every month. Small thing, but it annoyed me.",
                [("researcher", "Roaming and add-ons", "I added a 5GB data boost in the app thinking it was a one-off, and it turned out to renew every month.")]),
    _respondent("P21", "NWM-C-0046788", SL, 763.17, ("45-54", H24, "online", False, "Leeds"), "2026-03-05",
                "The online order came with the wrong colour case and a charger that didn't fit. The advisor in the shop sorted out both on the spot, even though I hadn't bought it there.",
                [("researcher", "Store staff rescue", "The advisor in the shop sorted out both on the spot, even though I hadn't bought it there.")]),
    _respondent("P22", "NWM-C-0054156", PH, 265.97, ("55-64", SIM30, "phone", False, "Wakefield"), "2026-03-05",
                "No signal at all for the first weekend. I had to use my neighbour's wifi to message people.",
                [("researcher", "Left without service", "No signal at all for the first weekend.")]),
    _respondent("P23", "NWM-C-0052745", DN, 539.25, ("18-24", H24, "online", False, "Leeds"), "2026-03-06",
                "Transferring the eSIM from my old iPhone to the new one. The \"transfer\" option just spun forever, and the chatbot's only suggestion was to restart, which I'd done about ten times. I ordered a physical SIM out of frustration.",
                [("researcher", "SIM and eSIM setup", "The \"transfer\" option just spun forever"),
                 ("researcher", "Chatbot dead end", "the chatbot's only suggestion was to restart, which I'd done about ten times.")]),
    _respondent("P24", "NWM-C-0045502", SL, 558.73, ("65-69", H24, "store", True, "Harrogate"), "2026-03-06",
                "Waiting for my number to come across from my old provider. It took four working days instead of one, and I kept checking the phone every hour.",
                [("researcher", "Number porting", "It took four working days instead of one")]),
    _respondent("P25", "NWM-C-0054293", PH, 412.63, ("25-34", SIM12S, "online", False, "Leeds"), "2026-03-06",
                "A letter in my third week said the price goes up in April, which nobody mentioned when I signed up. I spent ages on hold to complain and got nowhere.",
                [("researcher", "Price not as promised", "A letter in my third week said the price goes up in April, which nobody mentioned when I signed up."),
                 ("researcher", "Contact centre call", "I spent ages on hold to complain and got nowhere.")]),
    _respondent("P26", "NWM-C-0052891", DN, 552.79, ("25-34", SIM12, "online", False, "York"), "2026-03-06",
                "Honestly, the support bot. I wanted to change my bill date, which should be a two-minute job, and it looped me back to the main menu every time I typed \"agent\".",
                [("researcher", "Chatbot dead end", "it looped me back to the main menu every time I typed \"agent\""),
                 ("coder", "Chatbot dead end", "it looped me back to the main menu every time I typed \"agent\"")]),
    _respondent("P27", "NWM-C-0046950", SL, 771.50, ("55-64", H24, "store", False, "Leeds"), "2026-03-07",
                "I couldn't get into the app because I'd forgotten which email I'd registered with. The manager at the shop looked it up and reset it for me while I waited.",
                [("researcher", "Locked out of account", "I couldn't get into the app because I'd forgotten which email I'd registered with."),
                 ("researcher", "Store staff rescue", "The manager at the shop looked it up and reset it for me while I waited.")]),
    _respondent("P28", "NWM-C-0054430", PH, 246.19, ("35-44", SIM30, "online", False, "Bradford"), "2026-03-07",
                "I went over my data allowance by a few hundred MB and got charged £7.50 for it. My old network just slowed you down instead.",
                [("researcher", "Roaming and add-ons", "got charged £7.50 for it")]),
    _respondent("P29", "NWM-C-0053024", DN, 365.60, ("18-24", SIM12S, "online", False, "Huddersfield"), "2026-03-07",
                "My new SIM lost signal completely for most of a Tuesday after activation. I missed a delivery and a call from work before it came back on its own.",
                [("researcher", "Left without service", "I missed a delivery and a call from work before it came back on its own."),
                 ("coder", "Left without service", "My new SIM lost signal completely for most of a Tuesday after activation.")]),
    _respondent("P30", "NWM-C-0045687", SL, 517.75, ("70+", H24, "store", False, "York"), "2026-03-07",
                "Nothing was especially hard. I like being able to pop in to the shop when I'm in town, and the phone has been reliable.",
                []),
    _respondent("P31", "NWM-C-0054568", PH, 514.04, ("45-54", SIM30, "phone", True, "Leeds"), "2026-03-08",
                "Getting my old number back after the transfer failed. The helpline passed me between three departments before someone could see the port request.",
                [("researcher", "Number porting", "Getting my old number back after the transfer failed."),
                 ("researcher", "Contact centre call", "The helpline passed me between three departments before someone could see the port request."),
                 ("coder", "Contact centre call", "The helpline passed me between three departments")]),
    _respondent("P32", "NWM-C-0053169", DN, 595.32, ("25-34", H24, "online", False, "Leeds"), "2026-03-08",
                "The first bill had a charge called \"service adjustment\" that nobody could explain. I rang twice and got two different answers, so I'm still not sure what it was.",
                [("researcher", "First bill shock", "The first bill had a charge called \"service adjustment\" that nobody could explain."),
                 ("researcher", "Contact centre call", "I rang twice and got two different answers")]),
    _respondent("P33", "NWM-C-0047134", SL, 846.61, ("65-69", H36, "store", False, "Wakefield"), "2026-03-08",
                "Working out voicemail. The phone line put me through to a recorded message that didn't help, so I asked in the store and they set it up there and then.",
                [("researcher", "Store staff rescue", "I asked in the store and they set it up there and then"),
                 ("coder", "Contact centre call", "The phone line put me through to a recorded message that didn't help")]),
    _respondent("P34", "NWM-C-0054705", PH, 213.60, ("25-34", SIM30, "online", False, "Huddersfield"), "2026-03-08",
                "I couldn't log in to check my bill because the app kept rejecting the code, so the first I knew of the amount was the direct debit. It was more than double the monthly price.",
                [("researcher", "Locked out of account", "I couldn't log in to check my bill because the app kept rejecting the code"),
                 ("researcher", "First bill shock", "It was more than double the monthly price.")]),
    _respondent("P35", "NWM-C-0053296", DN, 387.15, ("18-24", SIM12, "online", False, "Bradford"), "2026-03-09",
                "Setting up the account. The app wouldn't accept my account number because the welcome email showed it with spaces and the form didn't allow them.",
                [("researcher", "Locked out of account", "The app wouldn't accept my account number because the welcome email showed it with spaces and the form didn't allow them.")]),
    _respondent("P36", "NWM-C-0045948", SL, 534.07, ("45-54", H24, "phone", False, "Huddersfield"), "2026-03-09",
                "The new SIM wouldn't activate because the card was the wrong size for my phone. I had to wait another week for a replacement in the post.",
                [("researcher", "SIM and eSIM setup", "the card was the wrong size for my phone")]),
    _respondent("P37", "NWM-C-0054841", PH, 417.22, ("35-44", SIM30, "online", False, "Leeds"), "2026-03-09",
                "The comparison site said £8 a month, but checkout showed £10 once the \"line fee\" was added. The web chat couldn't tell me what the line fee was for.",
                [("researcher", "Price not as promised", "checkout showed £10 once the \"line fee\" was added"),
                 ("researcher", "Chatbot dead end", "The web chat couldn't tell me what the line fee was for.")]),
    _respondent("P38", "NWM-C-0053433", DN, 298.13, ("35-44", SIM12S, "online", False, "Leeds"), "2026-03-09",
                "Nothing really stood out. Moving my contacts across took an evening, but that's the phone, not you.",
                []),
    _respondent("P39", "NWM-C-0046271", SL, 597.61, ("55-64", H24, "store", False, "Bradford"), "2026-03-10",
                "Understanding the bill, to be honest. There were two lines for the same month and I still don't know why the first one is larger than my plan.",
                [("researcher", "First bill shock", "There were two lines for the same month and I still don't know why the first one is larger than my plan.")]),
    _respondent("P40", "NWM-C-0054979", PH, 149.98, ("25-34", SIM30, "online", False, "Wakefield"), "2026-03-10",
                "The hardest part was the signal at work, which is in a basement. Otherwise it's been fine for the money.",
                []),
]
# fmt: on
