from typing import Any

from django.utils.translation import gettext_lazy as _

from .models import AuditEvent


def audit(
    *,
    actor,
    action: str,
    obj: Any = None,
    committee_id: int | None = None,
    subject_label: str = "",
    reason: str = "",
    personal: bool = False,
    detail: dict | None = None,
) -> AuditEvent:
    """Record one event; call it inside the service's transaction so both land or neither."""
    membership = getattr(actor, "active_membership", None) if actor else None
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_role=membership.role if membership else "",
        action=action,
        personal=personal,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
        committee_id=committee_id,
        subject_label=subject_label[:200],
        reason=reason[:200],
        detail=detail or {},
        membership_id=getattr(membership, "pk", None) if membership else None,
        via_temporary=getattr(membership, "temporary", "") if membership else "",
    )


# What each audit event kind written outside a workflow means, for the audit page and the admin.
# Workflow events (`<workflow>_<action>`) take their labels from the workflow's declaration
# (core.workflow.WORKFLOWS), and a kind named after a capability takes the capability's label.
# core/tests/test_audit_labels.py finds every kind the code writes and fails on one without a label.
EVENT_LABELS: dict[str, Any] = {
    "aid_cover_start": _("标记居委会无法履职,结对居委会临时代管"),
    "aid_memberships_close": _("临时任职到期,标记失效"),
    "aid_pair_create": _("设置AB角结对"),
    "aid_pair_remove": _("解除AB角结对"),
    "aid_pool_save": _("保存互助池"),
    "aid_request_post": _("发布互助求助"),
    "aid_rule_set": _("设置互助求助扩大范围的时间"),
    "aid_secondment_end": _("结束派驻第二书记"),
    "aid_secondment_grant": _("派驻第二书记"),
    "antigen_not_reported_export": _("导出抗原未上报人员名单"),
    "antigen_photo_view": _("查看抗原试剂盒照片"),
    "antigen_positive_alert": _("抗原阳性,通知居委会"),
    "antigen_positive_confirm": _("居委会核实抗原阳性"),
    "antigen_reminder_set": _("设置抗原上报提醒时间"),
    "antigen_reminders_send": _("发送抗原上报提醒短信"),
    "antigen_report": _("上报抗原结果"),
    "antigen_report_replace": _("更改当天抗原结果"),
    "antigen_review_arrange": _("为抗原阳性安排核酸单管复核"),
    "api_token_issue": _("签发接口令牌"),
    "api_token_revoke": _("吊销接口令牌"),
    "arrival_register": _("登记来沪人员"),
    "department_create": _("新建职能部门"),
    "department_head_set": _("设置部门负责人"),
    "department_member_add": _("添加部门成员"),
    "department_member_remove": _("移除部门成员"),
    "donation_allocate": _("登记捐赠去向"),
    "donation_receipt_print": _("打印捐赠收据"),
    "donation_record": _("登记捐赠"),
    "groupbuy_ban_add": _("将团长或供货商列入禁入名单"),
    "groupbuy_ban_lift": _("解除团购禁入"),
    "groupbuy_complaint_file": _("登记团购投诉"),
    "groupbuy_document_add": _("登记团长证件"),
    "groupbuy_document_photo_view": _("查看团长证件照片"),
    "groupbuy_filing_escalate": _("团购报备超时未审核,提醒居委会"),
    "groupbuy_filing_submit": _("提交团购报备"),
    "groupbuy_labels_print": _("打印团购分拣标签"),
    "groupbuy_leader_apply": _("申请当团长"),
    "groupbuy_offer_open": _("团购开团接龙"),
    "groupbuy_order_place": _("团购下单"),
    "groupbuy_orders_export": _("导出团购订单"),
    "groupbuy_poll_open": _("发起团购投票"),
    "groupbuy_poll_vote": _("团购投票"),
    "groupbuy_price_rule_set": _("设置允许高出参考价比例"),
    "groupbuy_reference_price_set": _("设置参考价格"),
    "household_create": _("新增户"),
    "household_update": _("修改户信息"),
    "identity_elsewhere": _("证件号已在其他居委会登记"),
    "isolation_alert_handle": _("处理居家隔离预警"),
    "isolation_alert_raise": _("发出居家隔离预警"),
    "isolation_case_open": _("开始居家隔离"),
    "isolation_contact_record": _("记录每日联系"),
    "isolation_contacts_due_export": _("导出待联系人员清单"),
    "isolation_contacts_sweep": _("标记未按时联系"),
    "isolation_pledge_view": _("查看居家隔离承诺书"),
    "isolation_purchase": _("登记代购"),
    "isolation_step": _("完成五步工作法的一步"),
    "loan_record": _("登记借用物品"),
    "loan_return": _("登记借用物品归还"),
    "lookup_burst": _("查询过于频繁,已暂停"),
    "mask_round_create": _("新建口罩预约轮次"),
    "mask_round_update": _("修改口罩预约轮次"),
    "mask_verify_queue_export": _("导出口罩预约核实队列"),
    "paper_book_create": _("登记纸质预约单"),
    "passport_cards_print": _("打印家园护照卡"),
    "passport_stamp_record": _("家园护照盖章"),
    "personal_lookup": _("按个人信息查询"),
    "pharmacy_add_clerk": _("添加药店店员"),
    "pharmacy_admin_committees": _("在系统管理中修改药店服务的居委会"),
    "pharmacy_admin_save": _("在系统管理中修改指定药店"),
    "pharmacy_assign_committee": _("指定药店服务的居委会"),
    "pharmacy_clerk_create": _("新建药店店员账号"),
    "pharmacy_create": _("新建指定药店"),
    "pharmacy_deactivate": _("停用指定药店"),
    "pharmacy_remove_clerk": _("移除药店店员"),
    "pharmacy_unassign_committee": _("取消药店服务的居委会"),
    "pharmacy_update": _("修改指定药店"),
    "rental_screen": _("出租房屋排查"),
    "reservation_submit": _("口罩预约登记"),
    "resident_create": _("登记居民"),
    "resident_search_export": _("导出居民查询结果"),
    "resident_update": _("修改居民信息"),
    "resident_view": _("查看居民详情页"),
    "roster_export": _("导出花名册(证件号遮蔽)"),
    "roster_export_full": _("导出花名册(完整证件号)"),
    "roster_import_upload": _("上传花名册"),
    "routing_match": _("清单人员跨街道匹配"),
    "routing_rule_set": _("设置派单规则"),
    "screening_antigen_review_open": _("抗原阳性,转核酸待复核"),
    "screening_codes_generate": _("批量生成采样码"),
    "screening_compound_add": _("筛查轮次新增小区"),
    "screening_compound_change": _("修改小区混采规则"),
    "screening_compound_remove": _("筛查轮次移出小区"),
    "screening_door_to_door_export": _("导出上门采样名单"),
    "screening_exemption_add": _("登记免于到点采样人员"),
    "screening_exemption_remove": _("移出免于到点采样名单"),
    "screening_label_print": _("打印一个采样码标签"),
    "screening_labels_export": _("打印采样码(导出姓名遮蔽的名单)"),
    "screening_line_add": _("新增采样台"),
    "screening_line_change": _("修改采样台"),
    "screening_not_sampled_export": _("导出未采样人员名单"),
    "screening_plan_drop": _("作废筛查排班(日期或小区已改)"),
    "screening_plan_make": _("生成筛查排班"),
    "screening_plan_sms": _("发送楼栋采样时段短信"),
    "screening_results_import": _("导入核酸检测结果文件"),
    "screening_results_overdue": _("核酸采样超时未出结果预警"),
    "screening_reviews_open": _("混管异常,人员转待复核"),
    "screening_round_change": _("修改筛查轮次"),
    "screening_round_create": _("新建筛查轮次"),
    "screening_site_add": _("新增采样点"),
    "screening_site_change": _("修改采样点"),
    "screening_station_batch": _("采样点上报扫码记录"),
    "screening_walk_in_register": _("登记非花名册人员采样码"),
    "sms_simulate_inbound": _("模拟接收短信"),
    "stock_delivery_record": _("登记药店到货"),
    "stock_issue": _("物资出库"),
    "stock_item_add": _("新增库存物品"),
    "stock_kit_set": _("设置防疫包物品数量"),
    "stock_receive": _("物资入库"),
    "ticket_board_export": _("导出工单列表"),
    "ticket_create": _("新建工单"),
    "ticket_door_sheet": _("打印门牌求助卡"),
    "ticket_door_sheets": _("打印居委会全部楼栋的门牌求助卡"),
    "ticket_escalate": _("工单临期或超时提醒"),
    "ticket_import": _("导入12345工单"),
    "ticket_link_reissue": _("重发工单进度链接"),
    "ticket_photo_view": _("查看求助照片"),
    "ticket_reclassify": _("工单重新分类"),
    "ticket_remind_accept": _("提醒受理紧急求助"),
    "ticket_urge": _("催办工单"),
    "tracing_batch_import": _("导入大数据清单"),
    "tracing_entry_view": _("查看清单人员"),
    "tracing_triage_export": _("导出待分派人员清单"),
    "tracing_worklist_export": _("导出待落实人员清单"),
    "volunteer_duty_sheet_print": _("打印志愿者值班表"),
    "volunteer_duty_sign_up": _("志愿者报名班次或被安排值班"),
    "volunteer_duty_texts": _("短信发送志愿者次日值班"),
    "volunteer_health_statement": _("志愿者填写当班健康承诺"),
    "volunteer_post_create": _("新增志愿者岗位"),
    "volunteer_post_sheet_print": _("打印志愿者岗位签到码"),
    "volunteer_shift_create": _("新增志愿者班次"),
    "volunteer_shift_update": _("修改志愿者班次"),
    "volunteer_sign_up": _("登记志愿者"),
    "volunteer_task_assign": _("派任务给志愿者"),
    "volunteer_update": _("修改志愿者技能或可服务时间"),
    "zone_clock_reset": _("新增阳性,风险区域重新计时"),
    "zone_positive_record": _("登记阳性(风险区域)"),
    "zone_rule_change": _("修改风险区域规则草稿"),
    "zone_rule_draft": _("新建风险区域规则版本"),
}

# What a lookup was for (the `purpose` its audit event keeps as its reason).
PURPOSE_LABELS: dict[str, Any] = {
    "resident_search": _("居民查询"),
    "resident_identity": _("登记或修改居民证件号"),
    "mask_verification": _("核实口罩预约"),
    "voucher_redeem": _("核销购买凭证"),
    "tracing_import": _("导入大数据清单"),
    "arrival_self_register": _("来沪人员自行登记"),
}


def event_label(kind: str) -> str:
    """The label of an audit event kind, in the user's language; the kind itself if unknown."""
    if kind in EVENT_LABELS:
        return str(EVENT_LABELS[kind])
    from xiuhua.accounts.roles import Cap

    from .workflow import WORKFLOWS

    for workflows in WORKFLOWS.values():
        for workflow in workflows:
            for name, action in workflow.actions.items():
                if workflow.audit_action(name) == kind:
                    subject = workflow.model._meta.verbose_name
                    return f"{subject}:{action.label or name}"
    if kind in Cap.values:
        return str(Cap(kind).label)
    return kind


def reason_label(reason: str) -> str:
    """A lookup's purpose by its label; a reason a person typed, as typed."""
    if reason in PURPOSE_LABELS:
        return str(PURPOSE_LABELS[reason])
    return reason


def role_label(role: str) -> str:
    from xiuhua.accounts.roles import Role

    return str(Role(role).label) if role in Role.values else role
