package cli

import (
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// This file holds what `vulnsync demo` seeds: one target, the mapping
// document of PRODUCT.md §2 and twenty vulnerabilities and findings that
// look like a real assessment of a web shop, so that the UI and the Jira
// issues the demo creates show what the product is for.

const demoProject = "SEC"

// demoTarget is the seeded target.
var demoTarget = tracker.Target{
	Name:        "acme-shop",
	Description: "Acme's customer-facing web shop, its payments API and the Android app.",
	URL:         "https://shop.acme.example",
}

// demoActor is the security engineer the seeded items and comments come
// from.
var demoActor = service.Actor{Name: "Priya Shah (AppSec)", Email: "priya.shah@acme.example", Role: service.RoleAdmin, Origin: tracker.OriginVulnsync}

// seedAttachment is a file the seed attaches to an item.
type seedAttachment struct {
	Filename, ContentType, Content string
}

// seedItem is a vulnerability with its findings, comments and attachment.
type seedItem struct {
	Item       tracker.NewItem
	Findings   []tracker.NewItem
	Comments   []string
	Attachment *seedAttachment
}

// seedFields builds an item's typed fields.
func seedFields(cvss float64, vector, cwe, asset, location string, refs []string, remediation string, labels ...string) map[string]any {
	f := map[string]any{"cvss_score": cvss, "cvss_vector": vector, "cwe": cwe, "asset_id": asset, "location": location, "remediation": remediation}
	if len(refs) > 0 {
		f["references"] = refs
	}
	if len(labels) > 0 {
		f["labels"] = labels
	}
	return f
}

// seedFinding builds a finding; its parent is set when it is created.
func seedFinding(title, description string, sev tracker.Severity, st tracker.Status, location string) tracker.NewItem {
	return tracker.NewItem{Kind: tracker.KindFinding, Title: title, Description: description, Severity: sev, Status: st,
		Fields: map[string]any{"location": location}}
}

// demoSeed is the assessment: 12 vulnerabilities and 8 findings, every
// severity and status, two comments and one attachment. The first
// vulnerability is open, so the printed transition visibly moves it.
var demoSeed = []seedItem{
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "SQL injection in product search (q parameter)", Severity: tracker.SeverityCritical, Status: tracker.StatusOpen,
			Description: "The `q` parameter of `GET /api/v1/search` is concatenated into the SQL query that searches products.\n\n" +
				"An unauthenticated attacker can read any table, including `customers` and `payment_tokens`:\n\n" +
				"```\nGET /api/v1/search?q=shoe'%20UNION%20SELECT%20email,password_hash,null%20FROM%20customers--\n```\n\n" +
				"**Impact:** full read access to the shop database.",
			Fields: seedFields(9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CWE-89", "shop-web", "https://shop.acme.example/api/v1/search?q=",
				[]string{"https://owasp.org/www-community/attacks/SQL_Injection", "https://cwe.mitre.org/data/definitions/89.html"},
				"Use parameterised queries (`db.Query(\"... WHERE name ILIKE $1\", q)`) in `search/repository.go`; never build SQL with string concatenation. Add a regression test with the payload above.",
				"owasp-a03", "pci"),
		},
		Findings: []tracker.NewItem{
			seedFinding("Boolean-based blind injection confirmed on staging", "`q=shoe' AND 1=1--` returns 24 products, `q=shoe' AND 1=2--` returns none.", tracker.SeverityCritical, tracker.StatusOpen, "https://staging.shop.acme.example/api/v1/search?q=shoe'%20AND%201=1--"),
			seedFinding("Time-based injection through the sort parameter", "`sort=name;SELECT pg_sleep(5)--` delays the answer by 5 s: the `sort` parameter is injectable too.", tracker.SeverityHigh, tracker.StatusOpen, "https://staging.shop.acme.example/api/v1/search?sort=name"),
		},
		Comments: []string{"Reproduced with **sqlmap 1.8** against staging; the output is attached. The production WAF does not block the UNION payload."},
		Attachment: &seedAttachment{Filename: "sqlmap-output.txt", ContentType: "text/plain", Content: "sqlmap identified the following injection point(s) with a total of 52 HTTP(s) requests:\n" +
			"---\nParameter: q (GET)\n    Type: boolean-based blind\n    Title: AND boolean-based blind - WHERE or HAVING clause\n    Payload: q=shoe' AND 4312=4312-- qXbz\n\n" +
			"    Type: UNION query\n    Title: Generic UNION query (NULL) - 3 columns\n    Payload: q=shoe' UNION ALL SELECT NULL,CONCAT(0x71,0x7a),NULL-- -\n---\n" +
			"back-end DBMS: PostgreSQL\navailable databases [3]:\n[*] information_schema\n[*] pg_catalog\n[*] public\n"},
	},
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "Stored XSS in product review body", Severity: tracker.SeverityMedium, Status: tracker.StatusInProgress,
			Description: "Review bodies are rendered with `innerHTML` on the product page. A review containing `<img src=x onerror=alert(document.domain)>` runs script for every visitor.",
			Fields: seedFields(5.4, "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", "CWE-79", "shop-web", "https://shop.acme.example/products/{id}#reviews",
				[]string{"https://owasp.org/www-community/attacks/xss/", "https://cheatsheetseries.owasp.org/cheatsheets/Cross_Site_Scripting_Prevention_Cheat_Sheet.html"},
				"Render review text with `textContent`, or sanitise with DOMPurify on output. Add a `Content-Security-Policy` without `unsafe-inline`.",
				"owasp-a03"),
		},
		Findings: []tracker.NewItem{
			seedFinding("XSS payload runs in the admin moderation queue", "The same review runs script in `/admin/reviews` with an administrator's session: this can take over the back office.", tracker.SeverityHigh, tracker.StatusInProgress, "https://shop.acme.example/admin/reviews"),
		},
	},
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "Broken object level authorization on GET /api/v1/orders/{id}", Severity: tracker.SeverityHigh, Status: tracker.StatusOpen,
			Description: "The orders endpoint checks that the caller is signed in but not that the order is theirs. Order ids are sequential, so any customer can read every order: name, address, phone and the last four card digits.",
			Fields: seedFields(8.1, "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N", "CWE-639", "payments-api", "https://api.shop.acme.example/api/v1/orders/{id}",
				[]string{"https://owasp.org/API-Security/editions/2023/en/0xa1-broken-object-level-authorization/"},
				"Load orders with `WHERE id = $1 AND customer_id = $2` using the session's customer; answer 404 for other customers' orders.",
				"owasp-api1", "gdpr"),
		},
		Findings: []tracker.NewItem{
			seedFinding("Another customer's order readable by changing the id", "Signed in as test customer 4411, `GET /api/v1/orders/100234` returned the order of customer 3907.", tracker.SeverityHigh, tracker.StatusOpen, "https://api.shop.acme.example/api/v1/orders/100234"),
		},
	},
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "Server-side request forgery in product image import", Severity: tracker.SeverityHigh, Status: tracker.StatusInProgress,
			Description: "The merchant tool fetches product images from any URL the merchant gives, from inside the VPC, and shows the response when it is not an image.",
			Fields: seedFields(8.6, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N", "CWE-918", "shop-web", "https://shop.acme.example/merchant/images/import",
				[]string{"https://owasp.org/www-community/attacks/Server_Side_Request_Forgery", "https://cwe.mitre.org/data/definitions/918.html"},
				"Fetch images through the egress proxy with an allow-list of public addresses; refuse private, link-local and loopback ranges after DNS resolution; never echo non-image answers.",
				"owasp-a10", "cloud"),
		},
		Findings: []tracker.NewItem{
			seedFinding("Cloud metadata endpoint reachable (169.254.169.254)", "Importing `http://169.254.169.254/latest/meta-data/iam/security-credentials/` returned the name of the instance role.", tracker.SeverityCritical, tracker.StatusInProgress, "http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
		},
		Comments: []string{"Temporary mitigation in place: egress to 169.254.169.254 is now blocked at the proxy. The permanent fix (allow-list) is tracked here."},
	},
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "JWT accepted with alg none", Severity: tracker.SeverityCritical, Status: tracker.StatusResolved,
			Description: "The payments API accepted tokens whose header says `\"alg\": \"none\"`, with any claims and no signature: anyone could act as any customer.",
			Fields: seedFields(9.1, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N", "CWE-347", "payments-api", "https://api.shop.acme.example/api/v1/",
				[]string{"https://auth0.com/blog/critical-vulnerabilities-in-json-web-token-libraries/"},
				"Pin the accepted algorithm (`RS256`) when verifying; reject tokens whose header names another. Fixed in payments-api 4.12.1, verified by retest.",
				"owasp-a02", "pci"),
		},
	},
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "TLS 1.0 and 1.1 enabled on the shop front end", Severity: tracker.SeverityLow, Status: tracker.StatusAcceptedRisk,
			Description: "The load balancer still negotiates TLS 1.0 and 1.1 with CBC ciphers. Kept for old point-of-sale terminals until their replacement in Q3; accepted by the CISO.",
			Fields: seedFields(3.7, "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N", "CWE-326", "shop-web", "shop.acme.example:443",
				[]string{"https://datatracker.ietf.org/doc/html/rfc8996"},
				"Use the `ELBSecurityPolicy-TLS13-1-2-2021-06` policy once the terminals are replaced.",
				"pci"),
		},
	},
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "No rate limiting or lockout on the login endpoint", Severity: tracker.SeverityMedium, Status: tracker.StatusOpen,
			Description: "`POST /api/v1/login` accepts unlimited attempts per account and per address, which makes credential stuffing cheap.",
			Fields: seedFields(5.3, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", "CWE-307", "shop-web", "https://shop.acme.example/api/v1/login",
				[]string{"https://owasp.org/www-community/controls/Blocking_Brute_Force_Attacks"},
				"Limit attempts per account (5 per 15 min, then a growing delay) and per address at the edge; alert on bursts of failures.",
				"owasp-a07"),
		},
		Findings: []tracker.NewItem{
			seedFinding("10,000 password attempts in five minutes without lockout", "A scripted run of 10,000 wrong passwords against `qa-user@acme.example` was never slowed down or blocked.", tracker.SeverityMedium, tracker.StatusOpen, "https://shop.acme.example/api/v1/login"),
		},
	},
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "log4j-core 2.14.1 in inventory-service (Log4Shell, CVE-2021-44228)", Severity: tracker.SeverityCritical, Status: tracker.StatusResolved,
			Description: "The inventory service bundled `log4j-core` 2.14.1. Message lookups made remote code execution possible through any logged string.",
			Fields: seedFields(10.0, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "CWE-917", "inventory-svc", "services/inventory/pom.xml",
				[]string{"https://nvd.nist.gov/vuln/detail/CVE-2021-44228", "https://logging.apache.org/log4j/2.x/security.html"},
				"Upgrade to log4j-core 2.17.1 or later. Done in inventory-service 3.8.0.",
				"cve", "dependency"),
		},
	},
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "Session cookie set without Secure and HttpOnly", Severity: tracker.SeverityLow, Status: tracker.StatusOpen,
			Description: "The `shop_session` cookie lacks the `Secure` and `HttpOnly` attributes, so script and plain-HTTP requests can read it.",
			Fields: seedFields(3.1, "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", "CWE-614", "shop-web", "https://shop.acme.example/",
				[]string{"https://developer.mozilla.org/en-US/docs/Web/HTTP/Cookies#restrict_access_to_cookies"},
				"Set `Secure; HttpOnly; SameSite=Lax` on `shop_session`.",
				"owasp-a05"),
		},
	},
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "Directory listing on /assets/", Severity: tracker.SeverityInfo, Status: tracker.StatusFalsePositive,
			Description: "The scanner reported a directory listing on `/assets/`. The listing is the public build manifest, served on purpose.",
			Fields: seedFields(0, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "CWE-548", "shop-web", "https://shop.acme.example/assets/",
				nil, "Nothing to do: the manifest is public by design.", "scanner"),
		},
	},
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "Open redirect in returnUrl after login", Severity: tracker.SeverityMedium, Status: tracker.StatusOpen,
			Description: "After login the shop redirects to `returnUrl` without checking it, which makes convincing phishing links on the shop's own domain.",
			Fields: seedFields(6.1, "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "CWE-601", "shop-web", "https://shop.acme.example/login?returnUrl=",
				[]string{"https://cheatsheetseries.owasp.org/cheatsheets/Unvalidated_Redirects_and_Forwards_Cheat_Sheet.html"},
				"Only accept relative paths starting with a single `/`; map anything else to `/`.",
				"owasp-a01"),
		},
		Findings: []tracker.NewItem{
			seedFinding("Redirect to an attacker domain with a protocol-relative URL", "`/login?returnUrl=//evil.example/acme` sends the signed-in user to `evil.example`.", tracker.SeverityMedium, tracker.StatusOpen, "https://shop.acme.example/login?returnUrl=//evil.example/acme"),
		},
	},
	{
		Item: tracker.NewItem{
			Kind: tracker.KindVulnerability, Title: "Hard-coded AWS access key in the Android app", Severity: tracker.SeverityHigh, Status: tracker.StatusInProgress,
			Description: "The release APK contains an AWS access key id and secret in `res/values/strings.xml`, used to upload crash reports to S3.",
			Fields: seedFields(7.5, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "CWE-798", "mobile-android", "android/app/src/main/res/values/strings.xml",
				[]string{"https://cwe.mitre.org/data/definitions/798.html", "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html"},
				"Revoke the key now; upload crash reports through the backend with short-lived pre-signed URLs instead of embedding credentials.",
				"secrets", "mobile"),
		},
		Findings: []tracker.NewItem{
			seedFinding("Embedded key still active and allowed to list every bucket", "`aws sts get-caller-identity` with the key succeeds; its policy allows `s3:ListAllMyBuckets` and `s3:GetObject` on `acme-crash-*`.", tracker.SeverityCritical, tracker.StatusInProgress, "android/app/src/main/res/values/strings.xml"),
		},
	},
}

// demoItemCount is how many items the seed creates.
func demoItemCount() int {
	n := 0
	for _, s := range demoSeed {
		n += 1 + len(s.Findings)
	}
	return n
}
