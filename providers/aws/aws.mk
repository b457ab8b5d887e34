# The aws provider: VPC, EKS, ECR and RDS through the host's HTTP and SigV4.
provider_LTLIBRARIES += providers/aws/aws.la
AWS_SOURCES = providers/aws/aws.h providers/aws/aws_api.c providers/aws/aws_network.c \
	providers/aws/aws_cluster.c providers/aws/aws_registry.c providers/aws/aws_database.c
providers_aws_aws_la_SOURCES = $(AWS_SOURCES) providers/aws/aws_provider.c
providers_aws_aws_la_CFLAGS = $(PROVIDER_CFLAGS)
providers_aws_aws_la_LDFLAGS = $(PROVIDER_LDFLAGS)
providers_aws_aws_la_LIBADD = $(JANSSON_LIBS) -lpthread -lm
