output "app_role_arn" {
  description = "Annotate infra/k8s/serviceaccount.yaml with it (eks.amazonaws.com/role-arn)."
  value       = aws_iam_role.app.arn
}

output "db_endpoint" {
  description = "host:port for DATABASE_URL (add ?sslmode=verify-full&sslrootcert=...)."
  value       = aws_db_instance.main.endpoint
}

output "db_master_secret_arn" {
  description = "Secrets Manager secret of the master password (RDS-managed). Create the app's own role from it; do not run the app as master."
  value       = aws_db_instance.main.master_user_secret[0].secret_arn
}

output "redis_primary_endpoint" {
  description = "Host for CELERY_BROKER_URL / REDIS_URL (rediss://)."
  value       = aws_elasticache_replication_group.main.primary_endpoint_address
}

output "documents_bucket" {
  description = "OBJECT_STORE_S3_BUCKET."
  value       = aws_s3_bucket.documents.bucket
}

output "audit_exports_bucket" {
  description = "AUDIT_EXPORT_S3_BUCKET (Object Lock, compliance mode)."
  value       = aws_s3_bucket.audit_exports.bucket
}

output "anchors_bucket" {
  description = "ANCHOR_S3_BUCKET (Object Lock, compliance mode)."
  value       = aws_s3_bucket.anchors.bucket
}

output "firm_key_alias_prefix" {
  description = "AWS_KMS_ALIAS_PREFIX."
  value       = local.firm_key_alias_prefix
}

output "firm_kek_policy_json" {
  description = "The key policy every per-firm KEK must carry (docs/infra.md \"Firm key policy\")."
  value       = data.aws_iam_policy_document.firm_kek_policy.json
}

output "app_log_group" {
  description = "Ship the containers' stdout here; the alarms read it."
  value       = aws_cloudwatch_log_group.app.name
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = aws_sns_topic.alarms.arn
}
