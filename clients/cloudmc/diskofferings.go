package cloudmc

import (
	"context"
	"strings"
)

// DiskOfferingsService reads the disk offerings of the client's environment
// (/services/{service_code}/{environment_name}/diskofferings). CloudMC on
// CloudStack makes every data volume from one: of the offering's size, or
// of the size asked for when the offering is custom-size.
type DiskOfferingsService service

// DiskOffering is a disk offering as the API reports it.
type DiskOffering struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// GBSize is the size of the volumes the offering makes; it means
	// nothing for a custom-size offering.
	GBSize int `json:"gbSize,omitempty"`
	// CustomSize is true when the volume's size is given at create
	// (VolumeCreateRequest.SizeInGB), and only then.
	CustomSize  bool   `json:"customSize"`
	CustomIOPS  bool   `json:"customIops,omitempty"`
	StorageTier string `json:"storageTier,omitempty"`
}

// CheckSize checks the size a volume create would send with the offering:
// a size for a custom-size offering, none for a fixed-size one. The error
// names the field (sizeInGb) and wraps ErrInvalidArgument.
func (o *DiskOffering) CheckSize(sizeInGB int) error {
	switch {
	case o == nil:
		return invalid("disk offering is nil")
	case o.CustomSize && sizeInGB <= 0:
		return invalid("sizeInGb is required with the custom-size disk offering %q (%s)", o.Name, o.ID)
	case !o.CustomSize && sizeInGB != 0:
		return invalid("sizeInGb %d is given, but disk offering %q (%s) has a fixed size of %d GB: leave the size out, or choose a custom-size offering",
			sizeInGB, o.Name, o.ID, o.GBSize)
	}
	return nil
}

// List fetches every disk offering of the environment.
func (s *DiskOfferingsService) List(ctx context.Context) ([]DiskOffering, error) {
	return listData[DiskOffering](ctx, s.client, s.client.envPath("diskofferings", ""))
}

// Get fetches one disk offering.
func (s *DiskOfferingsService) Get(ctx context.Context, id string) (*DiskOffering, error) {
	if err := checkID("disk offering ID", id); err != nil {
		return nil, err
	}
	return getData[DiskOffering](ctx, s.client, s.client.envPath("diskofferings", id))
}

// Find looks a disk offering up by ID or, failing that, by name (exactly,
// else ignoring case), among those listed. It returns nil, nil when none
// matches, and an error naming them when a name matches several.
func (s *DiskOfferingsService) Find(ctx context.Context, idOrName string) (*DiskOffering, error) {
	if strings.TrimSpace(idOrName) == "" {
		return nil, invalid("disk offering ID or name is required")
	}
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, match := range []func(o *DiskOffering) bool{
		func(o *DiskOffering) bool { return o.ID == idOrName },
		func(o *DiskOffering) bool { return o.Name == idOrName },
		func(o *DiskOffering) bool { return strings.EqualFold(o.Name, idOrName) },
	} {
		var found []*DiskOffering
		for i := range all {
			if match(&all[i]) {
				found = append(found, &all[i])
			}
		}
		switch len(found) {
		case 0:
			continue
		case 1:
			return found[0], nil
		}
		ids := make([]string, len(found))
		for i, o := range found {
			ids[i] = o.ID
		}
		return nil, invalid("disk offering name %q is ambiguous: %d offerings have it (%s); give the ID", idOrName, len(found), strings.Join(ids, ", "))
	}
	return nil, nil
}
