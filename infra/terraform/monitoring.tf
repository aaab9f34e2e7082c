# Alarms on the application's log lines (config.settings LOGGING: plain text, one line per
# record, "<time> <LEVEL> <logger> <message>"). Container logs are shipped to this log group
# (Fluent Bit / CloudWatch agent on the cluster). Exact messages, from the code:
#   keys/health.py    KMS_HEALTH_FAILED firm=<slug> reason=<code>
#   keys/rotation.py  KEY_ROTATION_FAILED firm=<slug> reason=<code>
#                     KEY_RETIRE_FAILED retired_kek=<id> reason=<code>
#                     could not log the failed key event <event> of firm <slug>
#   audit/checkpoints.py  firm <slug> has no access log chain head; run verify_audit_chain
#                     access log of firm <slug>: chain head #n disagrees with checkpoint #m ...
#   django.request    Service Unavailable: /api/v1/...  (503: KeyUnavailable or AuditLogUnavailable)
# AuditLogUnavailable itself is raised without a log line (tenants/auditlog/services.py);
# see docs/infra.md "Alarms" for the follow-up.

resource "aws_cloudwatch_log_group" "app" {
  name              = "/${var.name}/${var.environment}/app"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.infra.arn
}

resource "aws_sns_topic" "alarms" {
  name              = "${local.prefix}-alarms"
  kms_master_key_id = aws_kms_key.infra.id
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  log_alarms = {
    kms_health_failed = {
      pattern     = "\"KMS_HEALTH_FAILED\""
      description = "A firm's KMS key failed its health round trip (runbook: docs/runbooks/kms-outage.md)."
    }
    key_rotation_failed = {
      pattern     = "?\"KEY_ROTATION_FAILED\" ?\"KEY_RETIRE_FAILED\""
      description = "A firm key rotation or retirement failed (runbook: docs/runbooks/key-rotation.md)."
    }
    audit_log_write_failed = {
      pattern     = "?\"AUDIT_LOG_WRITE_FAILED\" ?\"could not log the failed key event\" ?\"reason=log_unavailable\" ?\"has no access log chain head\" ?\"disagrees with checkpoint\""
      description = "The access log could not be written or its chain disagrees with a checkpoint: reveals fail closed (docs/access-log.md)."
    }
    service_unavailable = {
      pattern     = "\"Service Unavailable: /api/v1/\""
      description = "The firm API answered 503: KMS or access log unavailable."
    }
  }
}

resource "aws_cloudwatch_log_metric_filter" "app" {
  for_each       = local.log_alarms
  name           = "${local.prefix}-${each.key}"
  log_group_name = aws_cloudwatch_log_group.app.name
  pattern        = each.value.pattern
  metric_transformation {
    name          = each.key
    namespace     = "${var.name}/${var.environment}"
    value         = "1"
    default_value = "0"
  }
}

resource "aws_cloudwatch_metric_alarm" "app" {
  for_each            = local.log_alarms
  alarm_name          = "${local.prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = "${var.name}/${var.environment}"
  metric_name         = each.key
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  depends_on          = [aws_cloudwatch_log_metric_filter.app]
}
