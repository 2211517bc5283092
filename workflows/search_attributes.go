package workflows

import "go.temporal.io/sdk/temporal"

// Search attributes cloudflow runs carry, so that they can be listed by cloud,
// by resource name and (stacks) by status. The server must know them:
// `cloudflow dev` registers them; on a cluster run
//
//	temporal operator search-attribute create --name CloudflowProvider --type Keyword
//	temporal operator search-attribute create --name CloudflowResources --type KeywordList
//	temporal operator search-attribute create --name CloudflowStackStatus --type Keyword
var (
	SearchAttrProvider    = temporal.NewSearchAttributeKeyKeyword("CloudflowProvider")
	SearchAttrResources   = temporal.NewSearchAttributeKeyKeywordList("CloudflowResources")
	SearchAttrStackStatus = temporal.NewSearchAttributeKeyKeyword("CloudflowStackStatus")
)

// SearchAttributeTypes maps each search attribute to its type, as the
// Temporal CLI's --search-attribute flag and `operator search-attribute
// create` take them.
var SearchAttributeTypes = map[string]string{
	SearchAttrProvider.GetName():    "Keyword",
	SearchAttrResources.GetName():   "KeywordList",
	SearchAttrStackStatus.GetName(): "Keyword",
}
