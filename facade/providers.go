package facade

// OAuth provider ids: the 71 of alter-sdk 0.29.0's Provider enum. They are untyped string
// constants, so they fit RequestParams.Provider, ListGrantsParams.Provider and every other
// provider field without a conversion; any other id the vault knows works as a plain string.
const (
	ProviderAcuityScheduling = "acuity-scheduling"
	ProviderAdobe            = "adobe"
	ProviderAircall          = "aircall"
	ProviderAirtable         = "airtable"
	ProviderApollo           = "apollo"
	ProviderAsana            = "asana"
	ProviderAtlassian        = "atlassian"
	ProviderAttio            = "attio"
	ProviderAutodesk         = "autodesk"
	ProviderBasecamp         = "basecamp"
	ProviderBitbucket        = "bitbucket"
	ProviderBitly            = "bitly"
	ProviderBox              = "box"
	ProviderBrex             = "brex"
	ProviderCalendly         = "calendly"
	ProviderCalCom           = "cal-com"
	ProviderCanva            = "canva"
	ProviderClickUp          = "clickup"
	ProviderClose            = "close"
	ProviderConstantContact  = "constant-contact"
	ProviderContentful       = "contentful"
	ProviderDeel             = "deel"
	ProviderDialpad          = "dialpad"
	ProviderDigitalOcean     = "digitalocean"
	ProviderDiscord          = "discord"
	ProviderDocuSign         = "docusign"
	ProviderDropbox          = "dropbox"
	ProviderEbay             = "ebay"
	ProviderEventbrite       = "eventbrite"
	ProviderFacebook         = "facebook"
	ProviderFigma            = "figma"
	ProviderGitHub           = "github"
	ProviderGitLab           = "gitlab"
	ProviderGoogle           = "google"
	ProviderHubSpot          = "hubspot"
	ProviderInstagram        = "instagram"
	ProviderKlaviyo          = "klaviyo"
	ProviderLinear           = "linear"
	ProviderLinkedIn         = "linkedin"
	ProviderMailchimp        = "mailchimp"
	ProviderMercury          = "mercury"
	ProviderMicrosoft        = "microsoft"
	ProviderMiro             = "miro"
	ProviderMonday           = "monday"
	ProviderNotion           = "notion"
	ProviderOutreach         = "outreach"
	ProviderPagerDuty        = "pagerduty"
	ProviderPayPal           = "paypal"
	ProviderPinterest        = "pinterest"
	ProviderPipedrive        = "pipedrive"
	ProviderQuickBooks       = "quickbooks"
	ProviderRamp             = "ramp"
	ProviderReddit           = "reddit"
	ProviderRingCentral      = "ringcentral"
	ProviderRippling         = "rippling"
	ProviderSalesforce       = "salesforce"
	ProviderSentry           = "sentry"
	ProviderSlack            = "slack"
	ProviderSnapchat         = "snapchat"
	ProviderSpotify          = "spotify"
	ProviderSquare           = "square"
	ProviderSquarespace      = "squarespace"
	ProviderStripe           = "stripe"
	ProviderTikTok           = "tiktok"
	ProviderTodoist          = "todoist"
	ProviderTwitter          = "twitter"
	ProviderTypeform         = "typeform"
	ProviderWebex            = "webex"
	ProviderWebflow          = "webflow"
	ProviderXero             = "xero"
	ProviderZoom             = "zoom"
)

// knownProviders lists the constants above, sorted by id.
var knownProviders = [...]string{
	ProviderAcuityScheduling, ProviderAdobe, ProviderAircall, ProviderAirtable, ProviderApollo, ProviderAsana,
	ProviderAtlassian, ProviderAttio, ProviderAutodesk, ProviderBasecamp, ProviderBitbucket, ProviderBitly,
	ProviderBox, ProviderBrex, ProviderCalCom, ProviderCalendly, ProviderCanva, ProviderClickUp,
	ProviderClose, ProviderConstantContact, ProviderContentful, ProviderDeel, ProviderDialpad, ProviderDigitalOcean,
	ProviderDiscord, ProviderDocuSign, ProviderDropbox, ProviderEbay, ProviderEventbrite, ProviderFacebook,
	ProviderFigma, ProviderGitHub, ProviderGitLab, ProviderGoogle, ProviderHubSpot, ProviderInstagram,
	ProviderKlaviyo, ProviderLinear, ProviderLinkedIn, ProviderMailchimp, ProviderMercury, ProviderMicrosoft,
	ProviderMiro, ProviderMonday, ProviderNotion, ProviderOutreach, ProviderPagerDuty, ProviderPayPal,
	ProviderPinterest, ProviderPipedrive, ProviderQuickBooks, ProviderRamp, ProviderReddit, ProviderRingCentral,
	ProviderRippling, ProviderSalesforce, ProviderSentry, ProviderSlack, ProviderSnapchat, ProviderSpotify,
	ProviderSquare, ProviderSquarespace, ProviderStripe, ProviderTikTok, ProviderTodoist, ProviderTwitter,
	ProviderTypeform, ProviderWebex, ProviderWebflow, ProviderXero, ProviderZoom,
}

// KnownProviders returns the OAuth provider ids this package has constants for, sorted. The
// vault's catalog (ListProviders) is the authority on which of them an app can connect.
func KnownProviders() []string { return append([]string(nil), knownProviders[:]...) }
