# Two kinds of KMS keys:
# - `aws_kms_key.infra`: created here; encrypts RDS, ElastiCache, the S3 buckets, logs and the
#   alarm topic.
# - per-firm key-encryption keys: created at runtime by the application (keys.aws.create_key,
#   one per firm, tagged service=<name>, alias alias/<name>/<slug>). Terraform does not manage
#   them; it publishes the key policy they must carry (`firm_kek_policy` below, output
#   `firm_kek_policy_json`) and the app role's IAM policy that can only touch keys so tagged.

data "aws_iam_policy_document" "infra_key" {
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key only; write access is limited to the account (IAM delegation) and to the logs and CloudWatch service principals.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key only (it cannot name its own ARN before it exists).
  #checkov:skip=CKV_AWS_109:Key administration is delegated to the account's IAM, the standard key policy for an infrastructure key; firm keys use firm_kek_policy instead.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:*"]
    }
  }
  statement {
    sid       = "CloudWatchAlarmsPublishToTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "infra" {
  description             = "${local.prefix}: RDS, ElastiCache, S3, logs, alarms"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.infra_key.json
}

resource "aws_kms_alias" "infra" {
  name          = "alias/${local.prefix}-infra"
  target_key_id = aws_kms_key.infra.key_id
}

# The key policy of every per-firm KEK. Only the application role may use the key, always
# with the firm's encryption context; named admin roles may administer it but never use it;
# every other principal, humans and the account root included, is denied the cryptographic
# operations. (Without a `Policy` in CreateKey, KMS attaches its default policy, which lets
# IAM grant kms:Decrypt to anyone in the account: see docs/infra.md "Firm key policy".)
data "aws_iam_policy_document" "firm_kek_policy" {
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key only; principals are the app role and named admin roles, and all others are denied use.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key only (it cannot name its own ARN before it exists).
  #checkov:skip=CKV_AWS_109:PutKeyPolicy is granted only to the named break-glass admin roles, which cannot use the key; without it the key could never be administered.
  statement {
    sid    = "AppRoleUsesKeyWithFirmContext"
    effect = "Allow"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:GenerateDataKey",
    ]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.app.arn]
    }
    condition {
      test     = "Null"
      variable = "kms:EncryptionContext:firm"
      values   = ["false"]
    }
  }
  statement {
    sid    = "AppRoleManagesKeyLifecycle"
    effect = "Allow"
    actions = [
      "kms:DescribeKey",
      "kms:EnableKeyRotation",
      "kms:GetKeyRotationStatus",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:CreateAlias",
      "kms:UpdateAlias",
    ]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.app.arn]
    }
  }
  statement {
    sid    = "BreakGlassAdministersNeverUses"
    effect = "Allow"
    actions = [
      "kms:DescribeKey",
      "kms:GetKeyPolicy",
      "kms:PutKeyPolicy",
      "kms:ListResourceTags",
      "kms:GetKeyRotationStatus",
      "kms:EnableKey",
      "kms:DisableKey",
      "kms:CancelKeyDeletion",
    ]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = var.key_admin_role_arns
    }
  }
  statement {
    sid    = "NoOtherPrincipalUsesKey"
    effect = "Deny"
    actions = [
      "kms:Decrypt",
      "kms:Encrypt",
      "kms:GenerateDataKey*",
      "kms:ReEncrypt*",
      "kms:CreateGrant",
    ]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = [aws_iam_role.app.arn]
    }
  }
}
