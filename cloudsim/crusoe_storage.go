package cloudsim

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// crusoeDisk is a disk as the API renders it, plus what the simulator keeps aside.
type crusoeDisk struct {
	AttachedTo   []crusoeDiskAttachment `json:"attached_to"`
	BlockSize    int64                  `json:"block_size"`
	CreatedAt    string                 `json:"created_at"`
	ID           string                 `json:"id"`
	Location     string                 `json:"location"`
	Name         string                 `json:"name"`
	SerialNumber string                 `json:"serial_number"`
	Size         string                 `json:"size"`
	Type         string                 `json:"type"`
	UpdatedAt    string                 `json:"updated_at"`

	sizeGiB int64
}

type crusoeDiskAttachment struct {
	AttachmentType string `json:"attachment_type"`
	Mode           string `json:"mode"`
	VMID           string `json:"vm_id"`
}

func (d *crusoeDisk) attachment(vmID string) crusoeDiskAttachment {
	for _, a := range d.AttachedTo {
		if a.VMID == vmID {
			return a
		}
	}
	return crusoeDiskAttachment{VMID: vmID}
}

// render copies the disk so that the answer does not share its slices.
func (d *crusoeDisk) render() crusoeDisk {
	out := *d
	out.AttachedTo = append([]crusoeDiskAttachment{}, d.AttachedTo...)
	return out
}

// crusoeSnapshot is a disk snapshot as the API renders it.
type crusoeSnapshot struct {
	BlockSize   int64  `json:"block_size"`
	CreatedAt   string `json:"created_at"`
	CreatedFrom string `json:"created_from"`
	ID          string `json:"id"`
	Size        string `json:"size"`
	UpdatedAt   string `json:"updated_at"`

	location string
	sizeGiB  int64
	diskType string
}

const (
	diskTypeSSD    = "persistent-ssd"
	diskTypeShared = "shared-volume"
	gib            = int64(1) << 30
)

var diskSizeRE = regexp.MustCompile(`^([0-9]+)(GiB|TiB)$`)

// parseDiskSize reads "<n>GiB" or "<n>TiB" into GiB.
func parseDiskSize(s string) (int64, error) {
	m := diskSizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("must be a size such as 10GiB or 1TiB, not %q", s)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n <= 0 || n > 1<<20 {
		return 0, fmt.Errorf("must be a positive size no larger than 1048576GiB, not %q", s)
	}
	if m[2] == "TiB" {
		n *= 1024
	}
	if n > 1<<20 {
		return 0, fmt.Errorf("must be no larger than 1024TiB, not %q", s)
	}
	return n, nil
}

func formatGiB(n int64) string { return fmt.Sprintf("%dGiB", n) }

// normalizeDiskType accepts the enum and the DISK_TYPE_ spelling the
// reference prose uses; "" is the default.
func normalizeDiskType(field, t string) (string, error) {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(t, "DISK_TYPE_"), "_", "-")) {
	case "", diskTypeSSD:
		return diskTypeSSD, nil
	case diskTypeShared:
		return diskTypeShared, nil
	}
	return "", badEnum(field, t, diskTypeSSD, diskTypeShared)
}

func (c *crusoeCloud) diskNamed(name string) *crusoeDisk {
	return c.st.disks.find(func(d *crusoeDisk) bool { return d.Name == name })
}

func (c *crusoeCloud) newDisk(name, typ, location string, sizeGiB, blockSize int64) *crusoeDisk {
	if typ == "" {
		typ = diskTypeSSD
	}
	now := ts(c.env.now())
	d := &crusoeDisk{
		AttachedTo: []crusoeDiskAttachment{}, BlockSize: blockSize, CreatedAt: now, ID: newID(),
		Location: location, Name: name, SerialNumber: serialNumber(), Size: formatGiB(sizeGiB),
		Type: typ, UpdatedAt: now, sizeGiB: sizeGiB,
	}
	c.st.disks.put(d.ID, d)
	return d
}

func serialNumber() string {
	return strings.ToUpper(strings.ReplaceAll(newID(), "-", "")[:19])
}

func (c *crusoeCloud) listDisks(r *http.Request) (any, error) {
	var out []crusoeDisk
	for _, d := range c.st.disks.all() {
		out = append(out, d.render())
	}
	return listOf(out), nil
}

func (c *crusoeCloud) getDisk(r *http.Request) (any, error) {
	d := c.st.disks.get(r.PathValue("disk_id"))
	if d == nil {
		return nil, crusoeNotFound("disk", r.PathValue("disk_id"))
	}
	return d.render(), nil
}

type crusoeDiskCreateRequest struct {
	BlockSize  int64  `json:"block_size"`
	Location   string `json:"location"`
	Name       string `json:"name"`
	Size       string `json:"size"`
	SnapshotID string `json:"snapshot_id"`
	Type       string `json:"type"`
}

// createDisk makes the disk listable at once; the operation completes it, and
// a failed operation removes it.
func (c *crusoeCloud) createDisk(r *http.Request) (any, error) {
	var req crusoeDiskCreateRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, missingField("name")
	}
	typ, err := normalizeDiskType("type", req.Type)
	if err != nil {
		return nil, err
	}
	blockSize := req.BlockSize
	if blockSize == 0 {
		blockSize = 4096
	}
	if blockSize != 512 && blockSize != 4096 {
		return nil, badField("block_size", "must be 512 or 4096, not %d", blockSize)
	}
	var size int64
	if req.Size != "" {
		if size, err = parseDiskSize(req.Size); err != nil {
			return nil, badField("size", "%v", err)
		}
	}
	location := req.Location
	if req.SnapshotID != "" {
		s := c.st.snapshots.get(req.SnapshotID)
		if s == nil {
			return nil, badField("snapshot_id", "names snapshot %s, which does not exist", req.SnapshotID)
		}
		if req.Type == "" {
			typ = s.diskType
		}
		if size == 0 {
			size = s.sizeGiB
		} else if size < s.sizeGiB {
			return nil, badField("size", "%s is smaller than snapshot %s (%s)", req.Size, s.ID, formatGiB(s.sizeGiB))
		}
		if location == "" {
			location = s.location
		}
	} else if req.Size == "" {
		return nil, missingField("size")
	}
	if err := checkLocation("location", location); err != nil {
		return nil, err
	}
	if c.diskNamed(req.Name) != nil {
		return nil, crusoeConflict("disk", req.Name)
	}
	d := c.newDisk(req.Name, typ, location, size, blockSize)
	c.env.tally.add(crusoeDiskCreates, d.Name)
	return c.startOp(r, crusoeFamDisks, []string{d.ID}, func() (any, *opFailure) {
		if c.st.disks.get(d.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "disk " + d.ID + " was deleted while it was being created"}
		}
		c.env.tally.add(crusoeDisksMade, d.Name)
		return d.render(), nil
	}, func() { c.removeDisk(d) }), nil
}

// removeDisk drops a disk, detaching it from any VM first.
func (c *crusoeCloud) removeDisk(d *crusoeDisk) {
	for _, a := range slices.Clone(d.AttachedTo) {
		if v := c.st.vms.get(a.VMID); v != nil {
			c.detach(v, d.ID)
		}
	}
	c.st.disks.del(d.ID)
}

func (c *crusoeCloud) deleteDisk(r *http.Request) (any, error) {
	d := c.st.disks.get(r.PathValue("disk_id"))
	if d == nil {
		return nil, crusoeNotFound("disk", r.PathValue("disk_id"))
	}
	if len(d.AttachedTo) > 0 {
		return nil, crusoeBadRequest("disk %s is attached to vm %s; detach it or delete the vm first", d.ID, d.AttachedTo[0].VMID)
	}
	return c.startOp(r, crusoeFamDisks, []string{d.ID}, func() (any, *opFailure) {
		if c.st.disks.get(d.ID) != nil {
			c.removeDisk(d)
		}
		return nil, nil
	}, nil), nil
}

type crusoeDiskResizeRequest struct {
	Size string `json:"size"`
}

// resizeDisk grows a disk when the operation completes.
func (c *crusoeCloud) resizeDisk(r *http.Request) (any, error) {
	d := c.st.disks.get(r.PathValue("disk_id"))
	if d == nil {
		return nil, crusoeNotFound("disk", r.PathValue("disk_id"))
	}
	var req crusoeDiskResizeRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Size == "" {
		return nil, missingField("size")
	}
	size, err := parseDiskSize(req.Size)
	if err != nil {
		return nil, badField("size", "%v", err)
	}
	if size <= d.sizeGiB {
		return nil, badField("size", "must be larger than the disk's current size %s, not %s", d.Size, req.Size)
	}
	return c.startOp(r, crusoeFamDisks, []string{d.ID}, func() (any, *opFailure) {
		if c.st.disks.get(d.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "disk " + d.ID + " was deleted"}
		}
		if size > d.sizeGiB {
			d.sizeGiB, d.Size = size, formatGiB(size)
			d.UpdatedAt = ts(c.env.now())
		}
		return d.render(), nil
	}, nil), nil
}

func (c *crusoeCloud) listSnapshots(r *http.Request) (any, error) {
	var out []crusoeSnapshot
	for _, s := range c.st.snapshots.all() {
		out = append(out, *s)
	}
	return listOf(out), nil
}

func (c *crusoeCloud) getSnapshot(r *http.Request) (any, error) {
	s := c.st.snapshots.get(r.PathValue("snapshot_id"))
	if s == nil {
		return nil, crusoeNotFound("snapshot", r.PathValue("snapshot_id"))
	}
	return *s, nil
}

type crusoeSnapshotCreateRequest struct {
	DiskID string `json:"disk_id"`
}

func (c *crusoeCloud) createSnapshot(r *http.Request) (any, error) {
	var req crusoeSnapshotCreateRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.DiskID == "" {
		return nil, missingField("disk_id")
	}
	d := c.st.disks.get(req.DiskID)
	if d == nil {
		return nil, badField("disk_id", "names disk %s, which does not exist", req.DiskID)
	}
	if err := c.checkIdle("disk", d.ID); err != nil {
		return nil, err
	}
	now := ts(c.env.now())
	s := &crusoeSnapshot{
		BlockSize: d.BlockSize, CreatedAt: now, CreatedFrom: d.ID, ID: newID(),
		Size: fmt.Sprintf("%d bytes", d.sizeGiB*gib), UpdatedAt: now,
		location: d.Location, sizeGiB: d.sizeGiB, diskType: d.Type,
	}
	c.st.snapshots.put(s.ID, s)
	return c.startOp(r, crusoeFamSnapshots, []string{s.ID}, func() (any, *opFailure) {
		if c.st.snapshots.get(s.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "snapshot " + s.ID + " was deleted while it was being created"}
		}
		return *s, nil
	}, func() { c.st.snapshots.del(s.ID) }), nil
}

func (c *crusoeCloud) deleteSnapshot(r *http.Request) (any, error) {
	s := c.st.snapshots.get(r.PathValue("snapshot_id"))
	if s == nil {
		return nil, crusoeNotFound("snapshot", r.PathValue("snapshot_id"))
	}
	return c.startOp(r, crusoeFamSnapshots, []string{s.ID}, func() (any, *opFailure) {
		c.st.snapshots.del(s.ID)
		return nil, nil
	}, nil), nil
}
