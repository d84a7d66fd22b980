package facade

import (
	"regexp"
	"strings"
)

// AWS endpoint shapes, tried in this order (alter_sdk/_aws_sig_v4.py:34-139, transport.md §7.4):
// the host of the URL names the signing service and region, which win over the credential's.
const awsRegion = `[a-z]{2}(?:-[a-z0-9]+)+-\d+`

var (
	// svc[-fips].[dualstack.]region.amazonaws.com[.cn]
	awsRegionalHost = regexp.MustCompile(`^([a-z0-9-]+)\.(?:dualstack\.)?(` + awsRegion + `)\.amazonaws\.com(?:\.cn)?$`)
	// svc[-fips].region.api.aws (the generic dual-stack domain)
	awsAPIHost = regexp.MustCompile(`^([a-z0-9-]+)\.(` + awsRegion + `)\.api\.aws$`)
	// bucket.s3[-fips].[dualstack.]region.amazonaws.com[.cn]
	s3VirtualHost = regexp.MustCompile(`^[^.]+\.s3(?:-fips)?\.(?:dualstack\.)?(` + awsRegion + `)\.amazonaws\.com(?:\.cn)?$`)
	// [bucket.]s3-region.amazonaws.com (legacy dash form)
	s3DashHost = regexp.MustCompile(`^(?:[^.]+\.)?s3-(` + awsRegion + `)\.amazonaws\.com$`)
	// [bucket.]s3[-external-1].amazonaws.com: the global endpoint always signs us-east-1
	s3GlobalHost = regexp.MustCompile(`^(?:[^.]+\.)?s3(?:-external-1)?\.amazonaws\.com$`)
	// vpce-….svc.region.vpce.amazonaws.com (PrivateLink)
	vpceHost = regexp.MustCompile(`^vpce-[a-z0-9-]+\.([a-z0-9-]+)\.(` + awsRegion + `)\.vpce\.amazonaws\.com$`)
	// [global.]svc[.us-gov].amazonaws.com[.cn]: region-less global services, per partition
	awsGlobalHost = regexp.MustCompile(`^(?:global\.)?([a-z0-9-]+)(\.us-gov)?\.amazonaws\.com(\.cn)?$`)
	// a.b[.c].region.[dualstack.]amazonaws.com[.cn]: only prefixes of signingOverrides
	awsDottedHost = regexp.MustCompile(`^([a-z0-9-]+(?:\.[a-z0-9-]+)+)\.(` + awsRegion + `)\.(?:dualstack\.)?amazonaws\.com(?:\.cn)?$`)
)

// Region-less global services and the region they sign, per partition (aws, aws-us-gov, aws-cn).
var (
	globalAWS = map[string]bool{"budgets": true, "cloudfront": true, "health": true, "iam": true,
		"importexport": true, "route53": true, "savingsplans": true, "sts": true, "waf": true}
	globalGov = map[string]bool{"health": true, "iam": true, "route53": true}
	globalCN  = map[string]bool{"budgets": true, "health": true, "route53": true}
)

// signingOverrides maps a host's service label (after -fips is stripped) to the name AWS expects in
// the credential scope, where the two differ (alter_sdk/_aws_sig_v4.py:153-211).
var signingOverrides = pairs(`
	agreement-marketplace=aws-marketplace api.detective=detective api.ecr=ecr
	api.ecr-public=ecr-public api.iotdeviceadvisor=iotdeviceadvisor api.iottwinmaker=iottwinmaker
	api.iotwireless=iotwireless api.mediatailor=mediatailor api.pricing=pricing
	api.sagemaker=sagemaker api.tunneling.iot=IoTSecuredTunneling appconfigdata=appconfig
	appstream2=appstream bedrock-runtime=bedrock catalog.marketplace=aws-marketplace
	cloudhsmv2=cloudhsm cn.transcribe=transcribe contact-lens=connect data-ats.iot=iotdata
	data.ats.iot=iotdata data.iot=iotdata data.iotevents=ioteventsdata
	data.iottwinmaker=iottwinmaker data.jobs.iot=iot-jobs-data data.mediastore=mediastore
	edge.sagemaker=sagemaker email=ses entitlement-marketplace=aws-marketplace
	entitlement.marketplace=aws-marketplace eventsv2=events forecastquery=forecast
	greengrass-ats.iot=greengrass identity-chime=chime importexport=IngestionService
	ingest.timestream=timestream ivsrealtime=ivs media-pipelines-chime=chime meetings-chime=chime
	memory-db=memorydb messaging-chime=chime metering.marketplace=aws-marketplace
	metrics.sagemaker=sagemaker models-v2-lex=lex models.lex=lex oidc=sso-oauth
	participant.connect=execute-api pinpoint=mobiletargeting portal.sso=awsssoportal
	query.timestream=timestream runtime-v2-lex=lex runtime.lex=lex runtime.sagemaker=sagemaker
	s3-control=s3 servicecatalog-appregistry=servicecatalog streams.dynamodb=dynamodb
	verification.signer=signer voice-chime=chime`)

// pairs reads "key=value" words.
func pairs(s string) map[string]string {
	m := map[string]string{}
	for _, w := range strings.Fields(s) {
		k, v, _ := strings.Cut(w, "=")
		m[k] = v
	}
	return m
}

// signingName is the credential-scope service of a host label: -fips stripped (FIPS endpoints
// sign the plain name), then the override map.
func signingName(label string) string {
	label = strings.TrimSuffix(label, "-fips")
	if s, ok := signingOverrides[label]; ok {
		return s
	}
	return label
}

// detectAWS returns the signing service and region an AWS host names, or "" for each it does
// not (a custom endpoint: the credential's values are used).
func detectAWS(host string) (service, region string) {
	h := strings.ToLower(host)
	if m := awsRegionalHost.FindStringSubmatch(h); m != nil {
		return signingName(m[1]), m[2]
	}
	if m := awsAPIHost.FindStringSubmatch(h); m != nil {
		return signingName(m[1]), m[2]
	}
	if m := s3VirtualHost.FindStringSubmatch(h); m != nil {
		return "s3", m[1]
	}
	if m := s3DashHost.FindStringSubmatch(h); m != nil {
		return "s3", m[1]
	}
	if s3GlobalHost.MatchString(h) {
		return "s3", "us-east-1"
	}
	if m := vpceHost.FindStringSubmatch(h); m != nil {
		return signingName(m[1]), m[2]
	}
	if m := awsGlobalHost.FindStringSubmatch(h); m != nil {
		svc := strings.TrimSuffix(m[1], "-fips")
		switch {
		case m[2] != "":
			if globalGov[svc] {
				return signingName(svc), "us-gov-west-1"
			}
		case m[3] != "":
			if globalCN[svc] {
				return signingName(svc), "cn-northwest-1"
			}
		case globalAWS[svc]:
			return signingName(svc), "us-east-1"
		}
	}
	// A dotted prefix signs only when it is known: a lookalike never gets a guessed name.
	if m := awsDottedHost.FindStringSubmatch(h); m != nil {
		if s, ok := signingOverrides[strings.TrimSuffix(m[1], "-fips")]; ok {
			return s, m[2]
		}
	}
	return "", ""
}
