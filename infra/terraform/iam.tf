# The application role (web, worker, beat, migrate), assumed through IRSA by the
# infra/k8s service account. Least privilege: KMS only on keys tagged service=<name> (the tag
# keys.aws.create_key sets) and on aliases under alias/<name>/; S3 only on the two buckets;
# no iam:*, no key administration beyond what the app's code calls (docs/keys.md).

data "aws_iam_policy_document" "app_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.eks_oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.eks_oidc_provider_url}:sub"
      values   = ["system:serviceaccount:${var.k8s_namespace}:${var.k8s_service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.eks_oidc_provider_url}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "app" {
  name                 = "${local.prefix}-app"
  assume_role_policy   = data.aws_iam_policy_document.app_trust.json
  max_session_duration = 3600
}

locals {
  firm_key_arns   = "arn:${local.partition}:kms:${var.region}:${local.account_id}:key/*"
  firm_alias_arns = "arn:${local.partition}:kms:${var.region}:${local.account_id}:${local.firm_key_alias_prefix}*"
}

data "aws_iam_policy_document" "app" {
  # keys.aws.create_key: CreateKey with the three tags (TagResource is authorised with it).
  statement {
    #checkov:skip=CKV_AWS_111:kms:CreateKey has no resource ARN before the key exists; it is constrained by request tags, key spec and usage instead.
    #checkov:skip=CKV_AWS_356:kms:CreateKey only accepts Resource "*"; the conditions bind it to tagged symmetric keys.
    sid       = "CreateFirmKeysTagged"
    actions   = ["kms:CreateKey"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/service"
      values   = [local.firm_key_tag_value]
    }
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["firm_slug", "firm_schema", "service"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:KeySpec"
      values   = ["SYMMETRIC_DEFAULT"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:KeyUsage"
      values   = ["ENCRYPT_DECRYPT"]
    }
  }
  statement {
    sid       = "TagOnlyWithServiceTag"
    actions   = ["kms:TagResource"]
    resources = [local.firm_key_arns]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/service"
      values   = [local.firm_key_tag_value]
    }
  }
  # Use and lifecycle of the firm keys the app created (tag set at creation).
  statement {
    sid = "UseOwnFirmKeys"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:GenerateDataKey",
      "kms:DescribeKey",
      "kms:EnableKeyRotation",
      "kms:ScheduleKeyDeletion",
      "kms:CreateAlias",
      "kms:UpdateAlias",
    ]
    resources = [local.firm_key_arns]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/service"
      values   = [local.firm_key_tag_value]
    }
  }
  # CreateAlias/UpdateAlias also need the alias resource itself: only under alias/<name>/.
  statement {
    sid       = "FirmAliases"
    actions   = ["kms:CreateAlias", "kms:UpdateAlias"]
    resources = [local.firm_alias_arns]
  }
  # BYOK (docs/keys.md): keys in the firms' own accounts, used only with a firm context; the
  # firm's grant or key policy is the real gate.
  statement {
    sid       = "UseByokKeysWithFirmContext"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["arn:${local.partition}:kms:${var.region}:*:key/*"]
    condition {
      test     = "StringNotEquals"
      variable = "aws:ResourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:firm"
      values   = ["firm_*"]
    }
  }
  statement {
    sid       = "DescribeByokKeys"
    actions   = ["kms:DescribeKey"]
    resources = ["arn:${local.partition}:kms:${var.region}:*:key/*"]
    condition {
      test     = "StringNotEquals"
      variable = "aws:ResourceAccount"
      values   = [local.account_id]
    }
  }
  # objectstore.s3 (documents) and audit.export_jobs (exports, multipart upload). The
  # bucket is versioned: a deletion removes every version (DeleteObjectVersion), found with
  # ListObjectVersions (s3:ListBucketVersions); docs/documents.md.
  statement {
    sid       = "Documents"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
    resources = ["${aws_s3_bucket.documents.arn}/*"]
  }
  statement {
    sid       = "DocumentsList"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [aws_s3_bucket.documents.arn]
  }
  statement {
    sid       = "AuditExports"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = ["${aws_s3_bucket.audit_exports.arn}/*"]
  }
  # audit.anchor_store: write once with a compliance-mode lock, read the oldest version
  # (ListBucketVersions), list. No delete: the lock refuses it anyway.
  statement {
    sid       = "Anchors"
    actions   = ["s3:PutObject", "s3:PutObjectRetention", "s3:GetObject", "s3:GetObjectVersion"]
    resources = ["${aws_s3_bucket.anchors.arn}/*"]
  }
  statement {
    sid       = "AnchorsList"
    actions   = ["s3:ListBucket", "s3:ListBucketVersions"]
    resources = [aws_s3_bucket.anchors.arn]
  }
  # SSE-KMS of the buckets (S3 calls KMS on the app's behalf).
  statement {
    sid       = "BucketKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.infra.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "app" {
  name   = "${local.prefix}-app"
  policy = data.aws_iam_policy_document.app.json
}

resource "aws_iam_role_policy_attachment" "app" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.app.arn
}
