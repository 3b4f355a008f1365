"""Words the page must show, shared by the page tests (one copy of what ``gateway/static/app.js`` says)."""

#: What the page must say for each C2PA state (gateway/static/app.js: C2PA_STATES).
STATE_LABELS = {
    "none": "No content credentials",
    "valid": "Signed and intact (signer not verified)",
    "trusted": "Signed, intact and from a trusted signer",
    "invalid": "Broken: changed after signing or bad signature",
    "remote": "Stored elsewhere, not fetched",
    "unreadable": "Present but unreadable",
}
