"""The compliance paperwork each firm needs (issue 19), generated from what the product knows:
the register of files that hold numbers (特定個人情報ファイル管理簿), the basic policy and the
handling rules for the owner to adopt, and the self-check against the PPC's common findings.
See docs/compliance.md."""
