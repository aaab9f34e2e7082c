variable "name" {
  description = "Service name; also the value of the `service` tag the app puts on every firm key (keys.aws.SERVICE_TAG) and the KMS alias prefix alias/<name>/ (AWS_KMS_ALIAS_PREFIX)."
  type        = string
  default     = "mynumber-custody"
}

variable "environment" {
  description = "Environment name (prod, staging)."
  type        = string
  default     = "prod"
}

variable "region" {
  description = "AWS region. Tokyo by default: the data stays in Japan."
  type        = string
  default     = "ap-northeast-1"
}

variable "vpc_id" {
  description = "Existing VPC."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets in at least two AZs for RDS and ElastiCache."
  type        = list(string)
}

variable "app_security_group_id" {
  description = "Security group of the application nodes/pods (EKS node or pod security group); the only source allowed into RDS and Redis."
  type        = string
}

variable "eks_oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (IRSA)."
  type        = string
}

variable "eks_oidc_provider_url" {
  description = "Issuer URL of the EKS OIDC provider without https://."
  type        = string
}

variable "k8s_namespace" {
  description = "Namespace of infra/k8s."
  type        = string
  default     = "mynumber-custody"
}

variable "k8s_service_account" {
  description = "Service account of infra/k8s/serviceaccount.yaml."
  type        = string
  default     = "custody-app"
}

variable "key_admin_role_arns" {
  description = "Break-glass roles that may administer (never use) firm keys: describe, disable, cancel deletion, change the policy. Two-person rule applies (docs/runbooks)."
  type        = list(string)
}

variable "db_instance_class" {
  description = "RDS instance class. One node holds the firm schemas measured in docs/infra.md."
  type        = string
  default     = "db.r6g.large"
}

variable "db_allocated_storage" {
  description = "Initial storage in GiB (autoscaling up to db_max_allocated_storage)."
  type        = number
  default     = 100
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 1000
}

variable "db_backup_retention_days" {
  description = "Automated backup retention (PITR window), days."
  type        = number
  default     = 35
}

variable "db_iam_auth" {
  description = "Enable IAM database authentication for people and tools (psql with a 15-minute token instead of a password). The app keeps using the password in DATABASE_URL."
  type        = bool
  default     = true
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.r7g.large"
}

variable "redis_auth_token" {
  description = "Redis AUTH token (16-128 chars); put it in CELERY_BROKER_URL/REDIS_URL of the custody-env Secret."
  type        = string
  sensitive   = true
}

variable "audit_export_retention_days" {
  description = "Object Lock (compliance mode) retention of audit exports, days. The Act requires handling records to be kept; 7 years covers the longest document retention."
  type        = number
  default     = 2557
}

variable "anchor_retention_years" {
  description = "Object Lock (compliance mode) default retention of the anchored roots, years (ANCHOR_RETENTION_DAYS sets the app's own per-object date; keep them equal)."
  type        = number
  default     = 10
}

variable "log_retention_days" {
  description = "Retention of the application log group, days."
  type        = number
  default     = 400
}

variable "alarm_email" {
  description = "Address subscribed to the alarm topic (confirm the subscription); empty for none."
  type        = string
  default     = ""
}
