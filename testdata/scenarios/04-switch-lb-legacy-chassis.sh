# 04: the load-balancer configuration of 03-switch-lb.sh, but the chassis
# come from a plain `ovn-sbctl chassis-add` (no Chassis.other_config feature
# flags), so northd falls back to the forms older ovn-controllers support
# (ct_lb instead of ct_lb_mark, masked ct_label, ...).

PLAIN_CHASSIS=1
# shellcheck source=03-switch-lb.sh
source "$(dirname "${BASH_SOURCE[0]}")/03-switch-lb.sh"
