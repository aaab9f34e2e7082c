# The anchor bucket: the daily signed Merkle roots over every firm's access-log chain head, and
# the public keys that signed them (audit.anchor_store, docs/access-log.md "Anchored roots").
# Object Lock in COMPLIANCE mode by default on every version: until its retention ends nobody
# can delete or change an anchor, not the application, not an operator, not the account root.
# That is what lets an anchor prove a firm's log was not rewritten after a day, even by us.
# The application also sets COMPLIANCE and a retain-until date on each PUT; this default
# covers any object put without them.

resource "aws_s3_bucket" "anchors" {
  #checkov:skip=CKV_AWS_144:Cross-region replication: a few kilobytes a day, also published on the public anchors page and noted by whoever checks them; Object Lock protects them against deletion. A replica would need a second Object Lock bucket outside the Tokyo region.
  #checkov:skip=CKV2_AWS_62:No consumer of object events: anchors are written once a day by beat and listed in the public schema (AnchoredRoot).
  bucket              = "${local.prefix}-anchors-${local.account_id}"
  object_lock_enabled = true
}

resource "aws_s3_bucket_object_lock_configuration" "anchors" {
  bucket = aws_s3_bucket.anchors.id
  rule {
    default_retention {
      mode  = "COMPLIANCE"
      years = var.anchor_retention_years
    }
  }
}

resource "aws_s3_bucket_public_access_block" "anchors" {
  bucket                  = aws_s3_bucket.anchors.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "anchors" {
  bucket = aws_s3_bucket.anchors.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "anchors" {
  bucket = aws_s3_bucket.anchors.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "anchors" {
  bucket = aws_s3_bucket.anchors.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.infra.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "anchors" {
  bucket        = aws_s3_bucket.anchors.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "anchors/"
}

data "aws_iam_policy_document" "anchors" {
  statement {
    sid       = "DenyNonTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.anchors.arn, "${aws_s3_bucket.anchors.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
  statement {
    sid       = "DenyPutWithOtherEncryption"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.anchors.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEqualsIfExists"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
  }
}

resource "aws_s3_bucket_policy" "anchors" {
  bucket = aws_s3_bucket.anchors.id
  policy = data.aws_iam_policy_document.anchors.json
}

resource "aws_s3_bucket_lifecycle_configuration" "anchors" {
  bucket = aws_s3_bucket.anchors.id
  rule {
    id     = "expire-after-lock"
    status = "Enabled"
    filter {}
    # Nothing is ever replaced or deleted here while locked; a version can only be removed
    # once its lock has ended.
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}
