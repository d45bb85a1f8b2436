package jirasim

import "fmt"

// Profile selects which Jira version the simulator plays. Real Jira sites
// differ in ways a sync engine must survive (webhook API and signing,
// changelog order and fields, transition screens, attachment redirects);
// the profiles model those differences so that vulnsync is tested against
// every variant, not the one its authors happen to know
// (../shared/jira/README.md, "Where real Jira varies").
type Profile string

// The profiles. ProfileCloud is Jira Cloud (Deployment Cloud); ProfileDC9
// is Data Center 9.x, the last line with the old webhook API and unsigned
// deliveries; ProfileDC10 is Data Center 10.x, the newest Data Center, with
// the /rest/jira-webhook/1.0 API and signed deliveries.
const (
	ProfileCloud Profile = "cloud"
	ProfileDC9   Profile = "dc-9"
	ProfileDC10  Profile = "dc-10"
)

// Profiles lists every profile, for flag help and table-driven tests.
var Profiles = []Profile{ProfileCloud, ProfileDC9, ProfileDC10}

// ParseProfile checks a --profile value.
func ParseProfile(s string) (Profile, error) {
	for _, p := range Profiles {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown profile %q (want cloud, dc-9 or dc-10)", s)
}

// Deployment is the deployment a profile implies.
func (p Profile) Deployment() Deployment {
	if p == ProfileCloud {
		return Cloud
	}
	return DataCenter
}

// defaultProfile is the profile of a deployment when none is given:
// PRODUCT.md §5 says "--deployment datacenter means the newest Data Center
// profile".
func defaultProfile(d Deployment) Profile {
	if d == DataCenter {
		return ProfileDC10
	}
	return ProfileCloud
}

// profileInfo is what serverInfo reports for a profile. The Data Center
// versions are real releases of each line (9.12 and 10.3 are the long-term
// support releases).
type profileInfo struct {
	version     string
	numbers     []int
	buildNumber int
	buildDate   string
}

var profileInfos = map[Profile]profileInfo{
	ProfileCloud: {"1001.0.0-SNAPSHOT", []int{1001, 0, 0}, 100282, "2025-12-01T00:00:00.000+0000"},
	ProfileDC9:   {"9.12.15", []int{9, 12, 15}, 9120015, "2024-10-15T00:00:00.000+0000"},
	ProfileDC10:  {"10.3.4", []int{10, 3, 4}, 10030004, "2025-03-11T00:00:00.000+0000"},
}

// webhookAPI reports which admin webhook API a profile serves: Cloud and
// Data Center 9 /rest/webhooks/1.0/webhook, Data Center 10
// /rest/jira-webhook/1.0/webhooks.
func (p Profile) newWebhookAPI() bool { return p == ProfileDC10 }

// signsWebhooks: Data Center before 10 ignores a secret and delivers
// unsigned (README, "Data Center before 10 does not sign").
func (p Profile) signsWebhooks() bool { return p != ProfileDC9 }

// identifiesWebhooks: X-Atlassian-Webhook-Identifier is absent on Data
// Center before 10.
func (p Profile) identifiesWebhooks() bool { return p != ProfileDC9 }

// retriesWebhooks: Data Center before 10 does not retry a failed delivery.
func (p Profile) retriesWebhooks() bool { return p != ProfileDC9 }

// flowHeaders: X-Atlassian-Webhook-Flow is a Cloud header.
func (p Profile) flowHeaders() bool { return p == ProfileCloud }

// Profile returns the profile the simulator plays, derived from the
// deployment when Config.Profile was empty.
func (s *Simulator) Profile() Profile { return s.profile }
