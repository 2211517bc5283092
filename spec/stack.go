package spec

import (
	"bytes"

	"go.yaml.in/yaml/v3"

	"github.com/cloudflow/cloudflow/internal/input"
	"github.com/cloudflow/cloudflow/workflows"
)

// stackProviders are the providers a stack takes: every spec kind.
var stackProviders = []string{ProviderCrusoe, ProviderCloudMC, ProviderKraftCloud, ProviderOpenVZ}

// StackSpec parses a spec of any provider (the provider field picks the
// parser) and returns it as the desired state of its stack, with Source set
// to where it came from (source: a path, or "-" for standard input). A spec
// with problems yields an Errors value listing all of them, as the parser
// of its provider finds them.
func StackSpec(data []byte, source string) (workflows.StackSpec, error) {
	provider, line := providerField(data)
	switch provider {
	case ProviderCloudMC:
		return stackSpecOf(ParseCloudMC(data, source))
	case ProviderKraftCloud:
		return stackSpecOf(ParseKraftCloud(data, source))
	case ProviderOpenVZ:
		return stackSpecOf(ParseContainer(data, source))
	case ProviderCrusoe:
		return stackSpecOf(Parse(data, source))
	case "":
		// No provider, or no document to read one from: the VM parser says
		// what is wrong, every problem of it; the fix names every provider.
		_, err := Parse(data, source)
		if errs, ok := err.(Errors); ok {
			for _, e := range errs {
				if e.Field == "provider" && e.Value == "" {
					e.Fix = "add provider: one of " + providerList()
				}
			}
		}
		return workflows.StackSpec{}, err
	}
	return workflows.StackSpec{}, Errors{{Field: "provider", Value: shorten(provider),
		Problem: "is not a supported provider", Fix: "use one of " + providerList(), Line: line}}
}

func providerList() string {
	out := ""
	for i, p := range stackProviders {
		switch {
		case i == len(stackProviders)-1:
			out += " or "
		case i > 0:
			out += ", "
		}
		out += p
	}
	return out
}

// stackSpecOf is the StackSpec of a parsed spec, or the parser's problems.
func stackSpecOf[S interface{ StackSpec() workflows.StackSpec }](s S, err error) (workflows.StackSpec, error) {
	if err != nil {
		return workflows.StackSpec{}, err
	}
	return s.StackSpec(), nil
}

// StackSpec is the spec as its stack's desired state: the ProvisionVM input.
func (s *VMSpec) StackSpec() workflows.StackSpec {
	in := s.ProvisionInput()
	return workflows.StackSpec{Provider: ProviderCrusoe, Crusoe: &in, Source: stackSource(s.Source)}
}

// StackSpec is the spec as its stack's desired state: the ProvisionInstance input.
func (s *CloudMCSpec) StackSpec() workflows.StackSpec {
	in := s.ProvisionInput()
	return workflows.StackSpec{Provider: ProviderCloudMC, CloudMC: &in, Source: stackSource(s.Source)}
}

// StackSpec is the spec as its stack's desired state: the DeployInstance input.
func (s *KraftCloudSpec) StackSpec() workflows.StackSpec {
	in := s.DeployInput()
	return workflows.StackSpec{Provider: ProviderKraftCloud, KraftCloud: &in, Source: stackSource(s.Source)}
}

// StackSpec is the spec as its stack's desired state: the CreateContainer input.
func (s *ContainerSpec) StackSpec() workflows.StackSpec {
	in := s.CreateInput()
	return workflows.StackSpec{Provider: ProviderOpenVZ, OpenVZ: &in, Source: stackSource(s.Source)}
}

// stackSource is how a stack names where its spec came from.
func stackSource(source string) string {
	if source == input.Stdin {
		return "standard input"
	}
	return source
}

// providerField returns the provider a spec names at its top level and its
// line, without checking anything else: "" when the data is not a YAML or
// JSON mapping with a provider.
func providerField(data []byte) (string, int) {
	if looksLikeJSON(data) {
		data = bytes.ReplaceAll(data, []byte("\t"), []byte(" "))
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return "", 0
	}
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = deref(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		return "", 0
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := deref(root.Content[i]), deref(root.Content[i+1])
		if k.Value == "provider" && v.Kind == yaml.ScalarNode {
			return v.Value, k.Line
		}
	}
	return "", 0
}
