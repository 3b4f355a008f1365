"""Words the page must show, shared by the page tests (one copy of what ``gateway/static/app.js`` says),
and the check that a file's own words in them stay text."""

#: What the page must say for each C2PA state (gateway/static/app.js: C2PA_STATES).
STATE_LABELS = {
    "none": "No content credentials",
    "valid": "Signed and intact (signer not verified)",
    "trusted": "Signed, intact and from a trusted signer",
    "invalid": "Broken: changed after signing or bad signature",
    "remote": "Stored elsewhere, not fetched",
    "unreadable": "Present but unreadable",
}

#: Markup where a signed file puts its own words: the certificate's organisation and name, the claim
#: generator, the action's software agent, and every other string a file controls. The page must show it
#: as text (nothing runs, nothing is added: no elements, the page's title unchanged).
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><b>Evil</b> & <script>document.title='pwned'</script>"


def provenance_panel_text(page, *, signer: str, generator: str, agent: str) -> str:
    """The provenance panel's text, once it is shown that the names a signed file controls stayed text.

    None of their markup became an element, none of their scripts ran (the title is the page's own), and
    the signer, the claim generator (name/version) and the action's software agent read as the file wrote them.
    """
    assert page.locator("#provenance-section img, #provenance-section script, #provenance-section b").count() == 0
    assert page.title() == "Deepfake check"
    text = page.locator("#provenance-section").inner_text()
    assert f"{signer} ({signer} signer) — not verified" in text
    assert f"{generator} (the tool that wrote the credentials)" in text
    assert f"c2pa.created · source: made by generative AI · by {agent}" in text
    return text
